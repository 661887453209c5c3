"""The portal's pages and forms. Every tenant route checks, before anything else, that the signed-in
identity may see that tenant (a platform admin: any; a tenant admin: its own) and answers 404 for
any other, whether it exists or not, for pages and form posts alike; every form post carries the
session's CSRF token."""

from __future__ import annotations

import hmac
import re
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any, Optional

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from tenancy.exits import CommandError
from tenancy.portal.auth import Authenticator, AuthError, Identity
from tenancy.portal.data import Sources, Unavailable
from tenancy.portal.forms import (
    QUOTA_FIELDS,
    Change,
    FormError,
    alerts_change,
    features_change,
    plan_adjustments,
    plan_change,
    quotas_change,
    status_change,
)
from tenancy.portal.proposals import NothingToChange, Proposer
from tenancy.registry.models import Service
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.tiers import EffectiveTenant
from tenancy.reports.period import Month

CSRF_FIELD = "csrf"


@dataclass
class Portal:
    sources: Sources
    authenticator: Authenticator
    templates: Jinja2Templates
    proposer: Optional[Proposer] = None


class LoginRequired(Exception):
    """No identity: a page redirects to the login form, a form post answers 401."""


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


# -- identity and CSRF -----------------------------------------------------------------------------

async def identity(request: Request) -> Optional[Identity]:
    """The bearer token's identity (a refused one raises AuthError), else the session's."""
    if getattr(request.state, "identified", False):
        return request.state.identity
    portal = portal_of(request)
    header = request.headers.get("authorization", "")
    found: Optional[Identity] = None
    request.state.bearer = False
    if header[:7].lower() == "bearer ":
        found = await run_in_threadpool(portal.authenticator.authenticate, header[7:])
        request.state.bearer = True
    elif request.session.get("token"):
        try:
            found = await run_in_threadpool(portal.authenticator.authenticate, request.session["token"])
        except AuthError as exc:
            request.session.pop("token", None)
            request.session["login_message"] = f"Signed out: {exc.reason}."
    request.state.identity, request.state.identified = found, True
    return found


async def signed_in(request: Request) -> Identity:
    found = await identity(request)
    if found is None:
        raise LoginRequired()
    return found


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, form) -> None:
    """A form post must carry the session's token (a bearer-token client sends no cookie and needs
    none), and come from this origin when the browser says where it comes from."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urllib.parse.urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "the form was posted from another site")
    if getattr(request.state, "bearer", False):
        return
    sent, expected = str(form.get(CSRF_FIELD, "")), request.session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and submit again")


def flash(request: Request, kind: str, text: str, **extra: Any) -> None:
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], {"kind": kind, "text": text, **extra}]


def render(request: Request, template: str, context: dict, status: int = 200) -> Response:
    portal = portal_of(request)
    ident = getattr(request.state, "identity", None)
    flashes = request.session.pop("flash", [])
    for f in flashes:
        if f.get("commit") and portal.proposer is not None:
            f["diff"] = portal.proposer.diff(f["commit"])
    base = {"identity": ident, "csrf": csrf_token(request), "flashes": flashes}
    response = portal.templates.TemplateResponse(request, template, {**base, **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def month_of(request: Request) -> Month:
    raw = request.query_params.get("month")
    if not raw:
        return Month.current()
    try:
        return Month.parse(raw)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


async def registry_or_error(request: Request, ident: Identity):
    try:
        return await run_in_threadpool(portal_of(request).sources.registry)
    except RegistryInvalid as exc:
        if ident.platform_admin:  # the problems name files and tenants: for the platform team only
            raise HTTPException(503, "the registry does not validate right now:\n" +
                                "\n".join(str(p) for p in exc.problems)) from None
        raise HTTPException(503, "the registry does not validate right now; the platform team is on it") from None


def visible_tenant(registry, ident: Identity, tenant_id: str) -> EffectiveTenant:
    """The tenant, if this identity may see it; otherwise 404, exactly as for a tenant that does not
    exist (an admin of one tenant learns nothing about the others, not even their ids)."""
    tenant = registry.get(tenant_id) if ident.can_see(tenant_id) else None
    if tenant is None:
        raise HTTPException(404, "no such tenant")
    return tenant


# -- the pages -------------------------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    if await identity(request) is not None:
        return RedirectResponse("/", status_code=303)
    message = request.session.pop("login_message", None)
    return render(request, "login.html", {"message": message, "next": _safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    token = str(form.get("id_token", "")).strip()
    target = _safe_next(str(form.get("next", "")))
    try:
        await run_in_threadpool(portal_of(request).authenticator.authenticate, token)
    except AuthError as exc:
        return render(request, "login.html", {"message": f"Not signed in: {exc.reason}.", "next": target},
                      status=exc.status)
    request.session.pop("token", None)
    request.session["token"] = token
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)  # a new session gets a new token
    return RedirectResponse(target or "/", status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _safe_next(value: Optional[str]) -> str:
    """Only a path of this site (never `//host` or a URL) to go back to after signing in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


async def home(request: Request) -> Response:
    ident = await signed_in(request)
    if not ident.platform_admin:
        return RedirectResponse(f"/tenants/{ident.tenant}", status_code=303)
    registry = await registry_or_error(request, ident)
    month = month_of(request)
    portal = portal_of(request)
    usage, costs, findings = await run_in_threadpool(_account_data, portal.sources, month)
    rows = []
    for t in registry.tenants:
        u = usage.tenant(t.id) if usage else None
        c = costs.tenant(t.id) if costs else None
        rows.append({
            "tenant": t, "tiers": _tiers(t), "cell": _cell(t),
            "spend": c.amount if c else None, "budget": t.monthly_budget, "spend_share": c.share if c else None,
            "requests": u.api.requests if u and u.api else None, "request_quota": t.quotas.max_ai_requests,
            "request_share": u.api.share if u and u.api else None,
            "high": sum(1 for f in findings if f["tenant"] == t.id and f["severity"] == "high") if findings else None,
            "findings": sum(1 for f in findings if f["tenant"] == t.id) if findings else None,
        })
    return render(request, "index.html", {
        "rows": rows, "month": month, "environment": portal.sources.environment,
        "unavailable": [s.reason for s in (usage, costs, findings) if isinstance(s, Unavailable)],
        "currency": costs.currency if costs else "USD", "unknown_costs": [c for c in costs.tenants if not c.known]
        if costs else [], "untagged": costs.untagged if costs else None})


def _account_data(sources: Sources, month: Month):
    return sources.usage(month), sources.costs(month), sources.findings()


def _tiers(t: EffectiveTenant) -> dict[str, str]:
    return {s.value: t.tier(s).value for s in Service}


def _cell(t: EffectiveTenant) -> str:
    """The tenant's cell (tenants/cells.yaml): the one its file names, else the default one."""
    cell = getattr(t.tenant, "cell", "-")
    return cell or "default"


async def tenant_page(request: Request) -> Response:
    ident = await signed_in(request)
    registry = await registry_or_error(request, ident)
    tenant = visible_tenant(registry, ident, request.path_params["tenant"])
    return await _tenant_response(request, ident, registry, tenant)


async def _tenant_response(request: Request, ident: Identity, registry, tenant: EffectiveTenant,
                           errors: Optional[dict] = None, values: Optional[dict] = None, status: int = 200) -> Response:
    portal = portal_of(request)
    month = month_of(request)
    usage, costs, findings = await run_in_threadpool(_account_data, portal.sources, month)
    resources = await run_in_threadpool(portal.sources.resources, tenant.id)
    pending = await run_in_threadpool(portal.proposer.pending, tenant.id) if portal.proposer else []
    u = usage.tenant(tenant.id) if usage else None
    c = costs.tenant(tenant.id) if costs else None
    context = {
        "t": tenant, "tiers": _tiers(tenant), "cell": _cell(tenant), "month": month,
        "environment": portal.sources.environment, "quotas": _quota_rows(tenant, u), "usage": u,
        "usage_unavailable": usage.reason if isinstance(usage, Unavailable) else None,
        "cost": c, "currency": costs.currency if costs else "USD",
        "cost_unavailable": costs.reason if isinstance(costs, Unavailable) else None,
        "findings": _own_findings(findings, tenant.id, registry, ident) if not isinstance(findings, Unavailable) else [],
        "findings_unavailable": findings.reason if isinstance(findings, Unavailable) else None,
        "resources": resources if not isinstance(resources, Unavailable) else None,
        "resources_unavailable": resources.reason if isinstance(resources, Unavailable) else None,
        "plans": sorted(registry.plans.plans), "pending": pending, "proposals": portal.proposer is not None,
        "errors": errors or {}, "values": values or {}, "chart": await run_in_threadpool(_usage_chart, u, month),
    }
    return render(request, "tenant.html", context, status=status)


def _own_findings(findings: list[dict], tenant_id: str, registry, ident: Identity) -> list[dict]:
    """The tenant's findings; for its own admins, other tenants' ids (a finding may name the tenant
    whose role reaches this one's key) read "another tenant"."""
    own = [f for f in findings if f.get("tenant") == tenant_id]
    others = sorted((t.id for t in registry.tenants if t.id != tenant_id), key=len, reverse=True)
    if ident.platform_admin or not others:
        return own
    pattern = re.compile(r"(?<![a-z0-9-])(" + "|".join(map(re.escape, others)) + r")(?![a-z0-9-])")
    return [{k: pattern.sub("another tenant", v) if isinstance(v, str) else v for k, v in f.items()} for f in own]


def _quota_rows(t: EffectiveTenant, usage) -> list[dict]:
    own = t.tenant.quotas.model_dump(by_alias=True)
    effective = t.quotas.model_dump(by_alias=True)
    defaults = t.plan.quotas.model_dump(by_alias=True)
    ceilings = t.plan.quota_ceilings.model_dump(by_alias=True)
    rows = []
    for key, label in QUOTA_FIELDS:
        used, used_label = None, None
        if key == "maxAIRequests" and usage is not None and usage.api is not None:
            used, used_label = usage.api.requests, f"API requests this month (quota per {usage.api.quota_period.lower()})"
        elif key == "storageLimit" and usage is not None and usage.storage_used_gib is not None:
            used, used_label = usage.storage_used_gib, "its database's storage used, GiB"
        limit = effective.get(key)
        rows.append({"key": key, "label": label, "effective": _num(limit), "own": _num(own.get(key)),
                     "default": _num(defaults.get(key)), "ceiling": _num(ceilings.get(key)),
                     "used": _num(used), "used_label": used_label,
                     "share": (used / limit) if used is not None and limit else None})
    return rows


def _num(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _usage_chart(usage, month: Month) -> Optional[str]:
    if usage is None or usage.api is None or not any(usage.api.daily.values()):
        return None
    from tenancy.reports.render import daily_requests_chart

    return daily_requests_chart(usage.api.daily, month)


# -- the forms -------------------------------------------------------------------------------------

FORMS = ("quotas", "features", "alerts", "plan", "status")


async def change(request: Request) -> Response:
    form_name = request.path_params["form"]
    if form_name not in FORMS:
        raise HTTPException(404, "no such form")
    ident = await identity(request)
    if ident is None:
        raise HTTPException(401, "sign in first")
    registry = await registry_or_error(request, ident)
    tenant = visible_tenant(registry, ident, request.path_params["tenant"])
    form = await request.form()
    check_csrf(request, form)
    if form_name == "status" and not ident.platform_admin:
        raise HTTPException(403, "only platform admins suspend and resume tenants")
    portal = portal_of(request)
    values = {k: form.get(k) for k in form}
    values["feature"] = form.getlist("feature")
    try:
        proposed = _change_of(form_name, form, tenant)
        if portal.proposer is None:
            raise FormError("this portal proposes no changes: it runs without a git repository (tenancy portal --repo)")
        if not proposed.assignments:
            raise NothingToChange(f"{tenant.id}'s file already says so; nothing to propose")
        result = await run_in_threadpool(
            portal.proposer.propose, tenant.id, proposed.name, proposed.assignments, author=(ident.name, ident.email),
            summary=proposed.summary, reason=proposed.reason,
            plan_block=plan_adjustments if form_name == "plan" else None)
    except FormError as exc:
        errors = {form_name: {"messages": [exc.message], "fields": {exc.field: [exc.message]} if exc.field else {}}}
        return await _tenant_response(request, ident, registry, tenant, errors, values, status=422)
    except RegistryInvalid as exc:
        fields: dict[str, list[str]] = {}
        for p in exc.problems:
            fields.setdefault(p.field, []).append(p.message)
        errors = {form_name: {"messages": [str(p) for p in exc.problems], "fields": fields}}
        return await _tenant_response(request, ident, registry, tenant, errors, values, status=422)
    except NothingToChange as exc:
        flash(request, "info", str(exc))
        return RedirectResponse(f"/tenants/{tenant.id}", status_code=303)
    except CommandError as exc:  # git failed, an edit that cannot be expressed, no free address block
        errors = {form_name: {"messages": [str(exc)], "fields": {}}}
        return await _tenant_response(request, ident, registry, tenant, errors, values, status=422)
    text = f"Proposed: {proposed.summary}, on branch {result.branch} (commit {result.commit[:8]})."
    # The session is a cookie (4 KB at most, the ID token already in it): the diff is read back from git.
    flash(request, "success", text, branch=result.branch, commit=result.commit, pull_request=result.pull_request,
          pull_request_error=result.pull_request_error)
    return RedirectResponse(f"/tenants/{tenant.id}#proposals", status_code=303)


def _change_of(form_name: str, form, tenant: EffectiveTenant) -> Change:
    if form_name == "quotas":
        return quotas_change({k: str(form.get(k, "")) for k in form}, tenant)
    if form_name == "features":
        return features_change([str(v) for v in form.getlist("feature")], str(form.get("add", "")), tenant)
    if form_name == "alerts":
        return alerts_change(str(form.get("alertEmails", "")), tenant)
    if form_name == "plan":
        return plan_change(str(form.get("plan", "")), str(form.get("reason", "")), tenant)
    return status_change(str(form.get("action", "")), tenant)


# -- reports (platform admins) ---------------------------------------------------------------------

async def report(request: Request) -> Response:
    ident = await signed_in(request)
    if not ident.platform_admin:
        raise HTTPException(404, "no such page")
    kind = request.path_params["kind"]
    if kind not in ("usage", "billing"):
        raise HTTPException(404, "no such report")
    month = month_of(request)
    sources = portal_of(request).sources
    data = await run_in_threadpool(sources.usage if kind == "usage" else sources.costs, month)
    if isinstance(data, Unavailable):
        raise HTTPException(503, data.reason)
    from tenancy.reports.render import render as render_report

    html = await run_in_threadpool(render_report, data, "html")
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Security-Policy":
                                       "default-src 'none'; img-src data:; style-src 'unsafe-inline'"})


async def health(request: Request) -> Response:
    return Response("ok\n", media_type="text/plain")
