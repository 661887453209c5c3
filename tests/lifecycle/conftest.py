"""Servers for the lifecycle tests, started on first use and stopped at the end of the session:
PostgreSQL clusters and Redis servers by name (a test that needs two instances asks for two
names), and a moto server (KMS, S3, Secrets Manager, RDS) reset before each test that uses it."""

from __future__ import annotations

import pytest

from ..dataplane.servers import Postgres, Redis

AWS_REGION = "eu-west-1"


@pytest.fixture(scope="session")
def postgres_cluster():
    """postgres_cluster(name) -> a running PostgreSQL 15 cluster of that name (one per name)."""
    started: dict[str, Postgres] = {}

    def get(name: str = "main") -> Postgres:
        if name not in started:
            started[name] = Postgres.start()
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session")
def redis_instance():
    """redis_instance(name) -> a running Redis server of that name (one per name)."""
    started: dict[str, Redis] = {}

    def get(name: str = "main") -> Redis:
        if name not in started:
            started[name] = Redis.start()
        return started[name]

    yield get
    for server in started.values():
        server.stop()


