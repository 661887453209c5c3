"""The runtime library's fixtures (identity providers, PostgreSQL, the pooled-services login)."""

from __future__ import annotations

from ..context.conftest import base, database, dev_tenants, jwks_server, pool_login, pools, postgres, resolver

__all__ = ["base", "database", "dev_tenants", "jwks_server", "pool_login", "pools", "postgres", "resolver"]
