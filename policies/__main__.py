"""The tenancy isolation policy pack. Only builds the pack: its constructor serves the CLI over gRPC
and never returns, so nothing may follow it."""

from pulumi_policy import EnforcementLevel, PolicyPack

from tenancy_policies.catalog import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
