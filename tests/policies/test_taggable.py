"""The pack's list of taggable AWS types is pulumi-aws's own: regenerated from the installed SDK's
source, it must equal the list the pack ships (regenerate it when pulumi-aws is upgraded)."""

from __future__ import annotations

from pathlib import Path

import pulumi_aws

from tenancy_policies import taggable


def test_the_shipped_list_is_the_installed_sdks():
    version, tokens = taggable.generate(Path(pulumi_aws.__file__).parent)
    shipped = taggable.DATA.read_text()
    assert shipped == taggable.render(version, tokens), (
        "policies/tenancy_policies/data/taggable_types.txt is stale: run "
        "`cd policies && python -m tenancy_policies.taggable <site-packages>/pulumi_aws > "
        "tenancy_policies/data/taggable_types.txt`")


def test_it_holds_what_the_program_tags_and_not_what_takes_no_tags():
    types = taggable.taggable_types()
    assert {"aws:apigateway/usagePlan:UsagePlan", "aws:budgets/budget:Budget", "aws:kms/key:Key",
            "aws:sqs/queue:Queue", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"} <= types
    assert not {"aws:kms/alias:Alias", "aws:iam/rolePolicy:RolePolicy", "aws:ec2/route:Route"} & types
