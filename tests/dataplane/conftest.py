"""Session-wide PostgreSQL and Redis servers, and a fresh database per test."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tenancy.registry.loader import load_registry

from .servers import Postgres, Redis

ROOT = Path(__file__).resolve().parents[2]
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
    return load_registry(ROOT / "tenants").in_environment("dev")


@pytest.fixture(scope="session")
def dev():
    """The dev stack under mocks, to compare the ElastiCache users with the ACL."""
    from tenancy.plan.harness import run_program

    return run_program(ROOT, "dev")
