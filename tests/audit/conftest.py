"""A moto server on loopback for the whole session, reset before each test, and the fixture registry."""

from __future__ import annotations

import pytest

from tenancy.registry.loader import load_registry

from ..conftest import REGISTRY, boto3_session

REGION = "eu-west-1"


@pytest.fixture
def session(aws_env):
    return boto3_session(REGION)


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)
