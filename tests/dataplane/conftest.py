"""Session-wide PostgreSQL and Redis servers, and a fresh database per test."""

from __future__ import annotations

import itertools

import pytest

from tenancy.registry.loader import load_registry

from ..conftest import REGISTRY
from .servers import Postgres, Redis

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    server = Postgres.start()
    yield server
    server.stop()


@pytest.fixture
def database(postgres):
    """A fresh database owned by the admin role: (server, name)."""
    name = f"tenants_{next(_databases)}"
    postgres.sql("postgres", f"CREATE DATABASE {name} OWNER tenancy_admin")
    return postgres, name


@pytest.fixture(scope="session")
def redis_server():
    server = Redis.start()
    yield server
    server.stop()


@pytest.fixture
def cache(redis_server):
    redis_server.reset()
    return redis_server


@pytest.fixture(scope="session")
def dev_tenants():
    return load_registry(REGISTRY).in_environment("dev")


@pytest.fixture(scope="session")
def dev(dev_plan):
    """The dev stack under mocks, to compare the ElastiCache users with the ACL."""
    return dev_plan
