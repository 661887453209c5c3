"""A tenant's feature flags and limits in the AWS.AppConfig.FeatureFlags format, so the application
reads at run time what the infrastructure cannot enforce (maxUsers, maxProjects, networkBandwidth)."""

from __future__ import annotations

import json

from tenancy.registry.tiers import EffectiveTenant

LIMITS_FLAG = "limits"
ACTIVE_FLAG = "active"


def feature_flags_document(tenant: EffectiveTenant) -> dict:
    """One flag per enabled feature, `active` (off while suspended), and `limits` with the
    tenant's effective quotas as attributes."""
    quotas = tenant.quotas.model_dump(by_alias=True)
    flags = {name: {"name": name} for name in tenant.tenant.features}
    values: dict = {name: {"enabled": True} for name in tenant.tenant.features}
    flags[ACTIVE_FLAG] = {"name": ACTIVE_FLAG, "description": "off while the tenant is suspended or offboarding"}
    values[ACTIVE_FLAG] = {"enabled": not tenant.suspended}
    flags[LIMITS_FLAG] = {"name": LIMITS_FLAG, "description": "the tenant's quotas (registry and plan)",
                          "attributes": {key: {"constraints": {"type": "number", "required": True}} for key in quotas}}
    values[LIMITS_FLAG] = {"enabled": True, **quotas}
    return {"version": "1", "flags": flags, "values": values}


def feature_flags_json(tenant: EffectiveTenant) -> str:
    return json.dumps(feature_flags_document(tenant), sort_keys=True)
