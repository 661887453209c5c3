"""tenancy: a tenant registry turned into per-tenant infrastructure in three isolation tiers."""
