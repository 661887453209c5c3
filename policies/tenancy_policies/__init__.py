"""Tenant-isolation policies as pure functions over the engine's camelCase properties.

Nothing here imports the Pulumi program: the pack judges what any program registers.
"""
