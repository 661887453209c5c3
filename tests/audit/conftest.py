"""A moto server on loopback for the whole session, reset before each test, and the fixture registry."""

from __future__ import annotations

import urllib.request

import boto3
import pytest

from benchmarks.aws_account import moto_server
from tenancy.registry.loader import load_registry

from ..conftest import REGISTRY

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch) -> dict:
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def session(aws_env):
    return boto3.Session(region_name=REGION)


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)
