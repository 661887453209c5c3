"""tenancy: per-tenant AWS and Kubernetes infrastructure from a tenant registry.

Data flows one way: the registry (YAML -> validated tenants) -> the program's components ->
resources -> the policy pack. The packages, from the bottom up:

- `registry`  plain Python: models, YAML with line numbers, validation, plans, addressing, naming
- `stacks`    which stacks an environment needs, their scopes, and which a git change touches
- `plan`      the offline harness (mocks, recording monitor), the policy runner, plan rendering
- `dataplane` the pooled PostgreSQL roles and Redis ACLs, generated from the registry
- `audit`     the live account, read through boto3
- `cli`       the one command layer; `exits` is its exit-code table

`lint-imports` checks these layers (pyproject.toml).
"""
