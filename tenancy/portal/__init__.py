"""The self-service portal (`tenancy portal`): platform admins see every tenant, a tenant's admins see
their own; changes become reviewed registry changes (a git branch, a pull request), never deployments."""
