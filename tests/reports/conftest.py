"""A moto server to seed usage and cost into, reset before each test that uses it.

moto has no GetUsage for API Gateway usage plans (GET /usageplans/{id}/usage), so this adds that one
route to its API Gateway service, answering in the documented shape (`values`: per API key, one
[used, remaining] pair per day from startDate to endDate) from what a test seeds with `seed_usage_plan`.
Cost Explorer results are seeded through moto's own `/moto-api/static/ce/cost-and-usage-results`.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tenancy.registry.naming import ENVIRONMENT_TAG, TENANT_TAG

from ..conftest import PROJECT, boto3_session, moto_server

REGION = "eu-west-1"
USAGE: dict[str, dict[str, dict[str, int]]] = {}  # usage plan id -> API key id -> ISO day -> requests
USAGE_ROUTE = "{0}/usageplans/(?P<usage_plan_id>[^/]+)/usage$"


def _get_usage(request, full_url: str, headers) -> tuple[int, dict, str]:
    parts = urllib.parse.urlsplit(full_url)
    plan = urllib.parse.unquote(parts.path.rstrip("/").split("/")[-2])
    query = urllib.parse.parse_qs(parts.query)
    start, end = (dt.date.fromisoformat(query[k][0]) for k in ("startDate", "endDate"))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    values = {key: [[per_day.get(d.isoformat(), 0), 0] for d in days] for key, per_day in USAGE.get(plan, {}).items()}
    body = {"usagePlanId": plan, "startDate": start.isoformat(), "endDate": end.isoformat(), "values": values}
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def install_get_usage() -> None:
    """Before the server's API Gateway app is built (on its first request): moto reads its routes then."""
    import moto.apigateway.urls

    moto.apigateway.urls.url_paths.setdefault(USAGE_ROUTE, _get_usage)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    install_get_usage()
    with moto_server() as endpoint:
        yield endpoint


def reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    USAGE.clear()


def aws_environment(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """A clean moto account and the environment boto3 reads; a session on it."""
    reset(moto_endpoint)
    for key, value in aws_environment(moto_endpoint).items():
        monkeypatch.setenv(key, value)
    return boto3_session(REGION)


@pytest.fixture(scope="session")
def registry():
    from tenancy.registry.project import validate_project

    return validate_project(PROJECT)


def seed_usage_plan(session, tenant: str, environment: str, plan: str, daily_by_key: dict[str, dict[str, int]],
                    tagged: bool = True) -> str:
    """A tenant's usage plan as the program makes it (tags, or only the description when `tagged` is
    off), its API keys, and their requests per day."""
    apigateway = session.client("apigateway")
    tags = {TENANT_TAG: tenant, ENVIRONMENT_TAG: environment, "tenant-plan": plan} if tagged else {}
    usage_plan = apigateway.create_usage_plan(name=f"{environment}-{tenant}-api-plan",
                                              description=f"{tenant}: {plan} plan limits", tags=tags)["id"]
    USAGE[usage_plan] = {}
    for name, per_day in daily_by_key.items():
        key = apigateway.create_api_key(name=f"{environment}-{tenant}-{name}", enabled=True)["id"]
        apigateway.create_usage_plan_key(usagePlanId=usage_plan, keyId=key, keyType="API_KEY")
        USAGE[usage_plan][key] = dict(per_day)
    return usage_plan


def put_metric(session, namespace: str, metric: str, dimension: str, value: str,
               points: dict[dt.datetime, float]) -> None:
    session.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": [{"Name": dimension, "Value": value}], "Timestamp": when, "Value": v}
        for when, v in points.items()])


def seed_costs(endpoint: str, month: str, groups: list[tuple[str, str, float]], estimated: bool = False) -> None:
    """The next Cost Explorer answer: (tenant id or '' for untagged, service, amount) per group."""
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    result = {"ResultsByTime": [{
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "Total": {}, "Estimated": estimated,
        "Groups": [{"Keys": [f"{TENANT_TAG}${tenant}", service],
                    "Metrics": {"UnblendedCost": {"Amount": f"{amount}", "Unit": "USD"}}}
                   for tenant, service, amount in groups]}], "DimensionValueAttributes": []}
    request = urllib.request.Request(f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
                                     data=json.dumps({"results": [result]}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request).status == 201
