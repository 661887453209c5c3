"""Constants that two sides must agree on without importing each other."""

from __future__ import annotations

from tenancy.registry import naming
from tenancy_policies import props


def test_the_policy_pack_reads_the_tags_the_program_writes():
    # The pack never imports tenancy (it judges any program), so it keeps its own copy.
    assert props.TENANT_TAG == naming.TENANT_TAG
    assert set(props.REQUIRED_TAGS) == {naming.TENANT_TAG, naming.PLAN_TAG, naming.ISOLATION_TAG,
                                        naming.ENVIRONMENT_TAG, naming.MANAGED_BY_TAG}
