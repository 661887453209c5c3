"""Example services wired with the runtime library (`tenancy.context`); not shipped with the package."""
