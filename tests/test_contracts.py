"""Constants that two sides must agree on without importing each other."""

from __future__ import annotations

from tenancy.registry import naming
from tenancy_policies import props


def test_the_policy_pack_reads_the_tags_the_program_writes():
    # The pack never imports tenancy (it judges any program), so it keeps its own copy.
    assert props.TENANT_TAG == naming.TENANT_TAG
    assert set(props.REQUIRED_TAGS) == {naming.TENANT_TAG, naming.PLAN_TAG, naming.ISOLATION_TAG,
                                        naming.ENVIRONMENT_TAG, naming.MANAGED_BY_TAG}


def test_the_pool_session_path_pins_the_tag_the_program_and_the_runtime_library_set():
    from tenancy.context import aws as context_aws
    from tenancy_policies.graph import paths

    assert f"aws:requesttag/{naming.SESSION_TAG}".lower() == paths.SESSION_TAG_KEY
    assert context_aws.TENANT_TAG == naming.SESSION_TAG
