"""Roles trust the cluster's IAM OIDC provider as the account has it, looked up, not a formula:
IAM refuses a trust policy naming a federated principal that does not exist."""

from __future__ import annotations

import json

from tenancy.plan.harness import CloudMocks, run_program

from ..conftest import PROJECT

LOOKUP = "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"


def test_workload_roles_trust_the_provider_the_lookup_returns(monkeypatch):
    asked = []
    real_call = CloudMocks.call

    def call(self, args):
        if args.token == LOOKUP:
            asked.append(args.args["url"])
            return {"arn": "arn:aws:iam::123456789012:oidc-provider/looked-up.example", "url": "looked-up.example"}
        return real_call(self, args)

    monkeypatch.setattr(CloudMocks, "call", call)
    rec = run_program(PROJECT, "dev")
    assert asked and all(url.startswith("https://oidc.eks.") for url in asked)
    # the roles service accounts assume: the pool identity's and those of tenants with a namespace
    # of their own (pooled tenants' roles trust the pool identity: test_identity.py)
    roles = [r for r in rec.of_type("aws:iam/role:Role") if r.name.endswith("-identity-role")
             and "Federated" in json.dumps(json.loads(r.input("assumeRolePolicy")))]
    assert any(r.name == "dev-platform-pool-identity-role" for r in roles) and len(roles) > 1
    for role in roles:
        (trust,) = json.loads(role.input("assumeRolePolicy"))["Statement"]
        assert trust["Principal"] == {"Federated": "arn:aws:iam::123456789012:oidc-provider/looked-up.example"}
