"""The pooled tier's data plane: what keeps shared tenants apart inside one PostgreSQL and one
Redis, as SQL and ACL rules generated from the registry and applied idempotently."""
