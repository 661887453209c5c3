"""The registry: tenant files and plans read from YAML with line numbers, validated into
`EffectiveTenant`s, and everything derived from a tenant alone (tiers, names, subnet layouts,
feature flags, cache access strings). Plain Python: no Pulumi, no boto3."""
