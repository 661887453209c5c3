"""Registry loading: the fixture registry is valid; each kind of broken registry gets one precise message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenancy.registry.loader import load_registry
from tenancy.registry.models import Service, Tier
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.settings import NetworkSettings

from ..conftest import PROJECT, REGISTRY


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems_of(directory: Path, layouts=None) -> list:
    with pytest.raises(RegistryInvalid) as info:
        load_registry(directory, layouts)
    return info.value.problems


VALID_ISOLATED = textwrap.dedent("""
    id: {id}
    name: Tenant {id}
    plan: enterprise
    isolationLevel: isolated
    environments: [dev]
    network: {{cidr: {cidr}}}
    billing: {{costCenter: cc-1}}
""").lstrip()


def test_fixture_registry_is_valid_and_resolves_tiers():
    registry = load_registry(REGISTRY)
    by_id = {t.id: t for t in registry.tenants}
    assert len(by_id) >= 6
    assert by_id["brightside"].isolation is Tier.shared
    assert by_id["northwind"].data_isolation.value == "row"
    globex = by_id["globex"]
    assert globex.tier(Service.database) is Tier.dedicated and globex.tier(Service.cache) is Tier.shared
    assert by_id["initech"].tier(Service.network) is Tier.dedicated
    assert by_id["acme"].tier(Service.cache) is Tier.isolated
    assert by_id["umbrella"].suspended


def test_quotas_merge_tenant_values_over_plan_defaults():
    registry = load_registry(REGISTRY)
    acme = registry.get("acme")
    plan = registry.plans.plans["enterprise"]
    assert acme.quotas.max_users == 500  # from acme.yaml
    assert acme.quotas.max_projects == plan.quotas.max_projects  # from the plan


def test_duplicate_key_is_reported_with_both_lines(registry_dir):
    write(registry_dir, "dup.yaml", """
        id: dup
        name: Dup
        plan: starter
        plan: professional
        environments: [dev]
        billing: {costCenter: cc-1}
    """)
    [problem] = problems_of(registry_dir)
    assert (problem.file.endswith("dup.yaml"), problem.line, problem.tenant, problem.field) == (True, 4, "dup", "plan")
    assert "first given on line 3" in problem.message


def test_every_problem_of_a_run_is_reported_each_with_its_line(registry_dir):
    write(registry_dir, "many.yaml", """
        id: many
        name: Many
        plan: starter
        environments: [dev, qa]
        quotas:
          maxUsers: -5
          computeLimit: lots
        colour: blue
        billing: {costCenter: cc-1}
    """)
    found = {(p.line, p.field): p.message for p in problems_of(registry_dir)}
    assert set(found) == {(4, "environments[1]"), (6, "quotas.maxUsers"), (7, "quotas.computeLimit"), (8, "colour")}
    assert "'dev', 'staging' or 'prod'" in found[(4, "environments[1]")]
    assert "greater than or equal to 0" in found[(6, "quotas.maxUsers")]
    assert "unknown key 'colour'" in found[(8, "colour")] and "isolationLevel" in found[(8, "colour")]


def test_unknown_nested_key_lists_the_nested_allowed_keys(registry_dir):
    write(registry_dir, "typo.yaml", """
        id: typo
        name: Typo
        plan: starter
        environments: [dev]
        billing: {costCenter: cc-1, budget: 3}
    """)
    [problem] = problems_of(registry_dir)
    assert problem.field == "billing.budget"
    assert "allowed keys: costCenter, monthlyBudget, alertEmails" in problem.message


def test_missing_required_field_points_at_the_document(registry_dir):
    write(registry_dir, "nobill.yaml", """
        id: nobill
        name: No Billing
        plan: starter
        environments: [dev]
    """)
    [problem] = problems_of(registry_dir)
    assert (problem.field, problem.message) == ("billing", "required field is missing")


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "holds a list"),
        ("just a string\n", "holds a str"),
        ("id: [unclosed\n", "YAML syntax error"),
        ("id: x\n\tname: y\n", "YAML syntax error"),
        ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
         "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "expands to more than"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "merge keys"),
        ("id: one\n---\nid: two\n", "YAML syntax error"),
    ],
)
def test_unreadable_documents_become_one_problem(registry_dir, content, expected):
    (registry_dir / "broken.yaml").write_text(content)
    [problem] = problems_of(registry_dir)
    assert problem.file.endswith("broken.yaml") and problem.tenant == "broken"
    assert expected in problem.message


def test_non_utf8_file_is_a_problem_not_a_crash(registry_dir):
    (registry_dir / "latin.yaml").write_bytes(b"id: latin\nname: Caf\xe9\n")
    [problem] = problems_of(registry_dir)
    assert (problem.line, problem.message) == (2, "the file is not valid UTF-8")


def test_id_must_equal_file_name_and_be_unique(registry_dir):
    write(registry_dir, "acme2.yaml", (registry_dir / "acme.yaml").read_text())
    found = problems_of(registry_dir)
    assert any(p.file.endswith("acme2.yaml") and p.field == "id" and "rename the file to acme.yaml" in p.message
               for p in found)
    assert any("already used by" in p.message for p in found)


def test_reserved_and_malformed_ids(registry_dir):
    write(registry_dir, "pool.yaml", "id: pool\nname: P\nplan: starter\nenvironments: [dev]\nbilling: {costCenter: c}\n")
    write(registry_dir, "Bad_Id.yaml", "id: Bad_Id\nname: P\nplan: starter\nenvironments: [dev]\nbilling: {costCenter: c}\n")
    messages = {p.tenant: p.message for p in problems_of(registry_dir) if p.field == "id"}
    assert "reserved" in messages["pool"]
    assert messages["Bad_Id"].startswith("must be 3-32 lowercase letters, digits and single hyphens")


def test_overlapping_isolated_vpcs_are_reported_once_naming_the_other_tenant(registry_dir):
    write(registry_dir, "hooli.yaml", VALID_ISOLATED.format(id="hooli", cidr="10.64.8.0/21"))
    [problem] = problems_of(registry_dir)
    assert (problem.tenant, problem.field, problem.line) == ("hooli", "network.cidr", 6)
    assert "overlaps acme's 10.64.0.0/20" in problem.message


def test_overlap_only_matters_within_a_shared_environment(registry_dir):
    text = VALID_ISOLATED.format(id="hooli", cidr="10.64.8.0/21").replace("[dev]", "[staging]")
    write(registry_dir, "hooli.yaml", text)  # acme is in dev and prod only
    assert load_registry(registry_dir).get("hooli") is not None


@pytest.mark.parametrize(
    "cidr, expected",
    [
        ("8.8.0.0/20", "not a private (RFC 1918) range"),
        ("10.65.0.0/25", "too small for 6 subnets"),
        ("10.0.8.0/21", "must lie outside the shared VPC"),
        ("10.66.0.1/20", "not a valid network"),
        ("ten.0.0.0/8", "not an IPv4 CIDR"),
    ],
)
def test_isolated_network_rules(registry_dir, cidr, expected):
    write(registry_dir, "hooli.yaml", VALID_ISOLATED.format(id="hooli", cidr=cidr))
    [problem] = problems_of(registry_dir)
    assert problem.field == "network.cidr" and expected in problem.message


@pytest.mark.parametrize(
    "cidr, expected",
    [
        ("10.0.80.0/20", None),
        ("10.1.0.0/20", "must lie inside the shared VPC 10.0.0.0/16"),
        ("10.0.16.0/20", "overlaps the platform's own subnets 10.0.0.0/18"),
        ("10.0.96.0/25", "too small for 4 subnets"),
    ],
)
def test_dedicated_slice_rules(registry_dir, cidr, expected):
    text = VALID_ISOLATED.format(id="hooli", cidr=cidr).replace("isolated", "dedicated")
    write(registry_dir, "hooli.yaml", text)
    if expected is None:
        assert load_registry(registry_dir).get("hooli") is not None
        return
    [problem] = problems_of(registry_dir)
    assert problem.field == "network.cidr" and expected in problem.message


def test_slice_size_follows_the_zone_count_of_each_stack(registry_dir):
    text = VALID_ISOLATED.format(id="hooli", cidr="10.0.96.0/24").replace("isolated", "dedicated")
    write(registry_dir, "hooli.yaml", text)
    assert load_registry(registry_dir).get("hooli")  # 2 zones: 4 x /26 fit
    layouts = {"dev": [("stack big", NetworkSettings(azCount=3))]}
    from tenancy.registry.models import Environment
    [problem] = problems_of(registry_dir, {Environment(k): v for k, v in layouts.items()})
    assert "too small for 6 subnets" in problem.message and "stack big" in problem.message


@pytest.mark.parametrize(
    "extra, field, expected",
    [
        ("plan: starter\nisolationLevel: dedicated\n", "isolationLevel", "does not allow 'dedicated'; allowed: shared"),
        ("plan: starter\nservices: {database: dedicated}\n", "services.database", "allowed overrides: none"),
        ("plan: professional\nservices: {network: dedicated}\n", "services.network", "does not allow network 'dedicated'"),
        ("plan: gold\n", "plan", "unknown plan 'gold'; plans: enterprise, professional, starter"),
        ("plan: professional\nservices: {database: dedicated}\ndataIsolation: row\n", "dataIsolation", "pooled database only"),
        ("plan: starter\nnetwork: {cidr: 10.0.96.0/20}\n", "network", "has no address block of its own"),
        ("plan: professional\nservices: {cache: dedicated, compute: shared}\n", "services.compute",
         "cannot run in the shared pool"),
    ],
)
def test_plan_and_tier_mismatches(registry_dir, extra, field, expected):
    write(registry_dir, "mis.yaml", "id: mis\nname: M\nenvironments: [dev]\nbilling: {costCenter: c}\n" + extra)
    found = problems_of(registry_dir)
    assert any(p.field == field and expected in p.message for p in found), found


def test_service_tier_below_network_tier_is_refused(registry_dir):
    write(registry_dir, "low.yaml", VALID_ISOLATED.format(id="low", cidr="10.70.0.0/20")
          .replace("isolationLevel: isolated", "isolationLevel: dedicated")
          .replace("network: {cidr: 10.70.0.0/20}", "network: {cidr: 10.0.96.0/20}") + "services: {}\n")
    assert load_registry(registry_dir).get("low") is not None
    plans = (registry_dir / "plans.yaml").read_text().replace(
        "allowedIsolation: [dedicated, isolated]\n    allowedOverrides: {}",
        "allowedIsolation: [dedicated, isolated]\n    allowedOverrides: {cache: [shared]}")
    (registry_dir / "plans.yaml").write_text(plans)
    (registry_dir / "low.yaml").write_text((registry_dir / "low.yaml").read_text().replace("services: {}", "services: {cache: shared}"))
    [problem] = problems_of(registry_dir)
    assert problem.field == "services.cache" and "below the network tier" in problem.message


def test_broken_plans_file_is_located(registry_dir):
    text = (registry_dir / "plans.yaml").read_text().replace("memoryPerCpuGiB: 4", "memoryPerCpuGiB: 4\n    colour: red")
    (registry_dir / "plans.yaml").write_text(text)
    [problem] = problems_of(registry_dir)
    assert problem.file.endswith("plans.yaml") and problem.tenant == "plan enterprise"
    assert problem.field == "plans.enterprise.colour"
    assert text.splitlines()[problem.line - 1].strip() == "colour: red"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("environments: dev", "must be a list, such as [dev]"),
        ("quotas: 5", "must be a mapping of keys to values, not int 5"),
        ("billing:", "must be a mapping of keys to values, not empty"),
        ("features: [SSO]", "must be a feature name: a lowercase letter, then lowercase letters, digits and hyphens (got 'SSO')"),
        ("billing: {costCenter: c, alertEmails: [nope]}", "must be an e-mail address such as finops@example.com"),
        ("status: paused", "Input should be 'active', 'suspended' or 'offboarding' (got 'paused')"),
        ("quotas: {maxUsers: 1.5}", "Input should be a valid integer (got 1.5)"),
        ("quotas: {maxUsers: '10'}", "Input should be a valid integer (got '10')"),
        ("name: [a]", "Input should be a valid string (got ['a'])"),
        ("key: !!python/object:os.system echo", "could not determine a constructor"),
    ],
)
def test_wrong_types_say_what_is_expected(registry_dir, line, expected):
    base = {"id": "id: typed", "name": "name: T", "plan": "plan: starter", "environments": "environments: [dev]",
            "billing": "billing: {costCenter: c}"}
    key = line.split(":")[0]
    base[key] = line
    (registry_dir / "typed.yaml").write_text("\n".join(base.values()) + "\n")
    found = problems_of(registry_dir)
    assert len(found) == 1, found
    assert expected in found[0].message


def test_quotas_above_the_plan_ceiling_are_refused_unless_the_plan_sets_none(registry_dir):
    write(registry_dir, "big.yaml", """
        id: big
        name: Big
        plan: starter
        environments: [dev]
        quotas: {maxUsers: 80, storageLimit: 20}
        billing: {costCenter: c}
    """)
    [problem] = problems_of(registry_dir)
    assert (problem.field, problem.line) == ("quotas.maxUsers", 5)
    assert problem.message == ("80 is above plan 'starter''s ceiling of 50; move the tenant to a larger plan "
                               "or raise the plan's quotaCeilings")
    text = (registry_dir / "big.yaml").read_text().replace("plan: starter", "plan: enterprise") \
        .replace("environments: [dev]", "environments: [dev]\nnetwork: {cidr: 10.0.96.0/20}")
    (registry_dir / "big.yaml").write_text(text.replace("maxUsers: 80", "maxUsers: 80000").replace("storageLimit: 20", "storageLimit: 5000"))
    assert load_registry(registry_dir).get("big").quotas.max_users == 80000  # enterprise sets no ceiling


def test_a_database_of_its_own_needs_at_least_twenty_gib(registry_dir):
    write(registry_dir, "tiny.yaml", """
        id: tiny
        name: Tiny
        plan: professional
        environments: [dev]
        services: {database: dedicated}
        quotas: {storageLimit: 10}
        billing: {costCenter: c}
    """)
    [problem] = problems_of(registry_dir)
    assert problem.field == "quotas.storageLimit" and "at least 20 GiB" in problem.message


@pytest.mark.parametrize("field, value, says", [
    ("billing", "{costCenter: c, monthlyBudget: 0}", "billing.monthlyBudget"),
    ("quotas", "{maxAIRequests: 0}", "quotas.maxAIRequests"),
])
def test_values_aws_refuses_are_refused_by_the_registry(registry_dir, field, value, says):
    text = (registry_dir / "northwind.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{field}:")]
    (registry_dir / "northwind.yaml").write_text("\n".join(lines + [f"{field}: {value}"]) + "\n")
    found = [p for p in problems_of(registry_dir) if p.tenant == "northwind"]
    assert [p.field for p in found] == [says], found


@pytest.mark.parametrize("setting, says", [
    ("flowLogRetentionDays: 31", "tenancy:network.flowLogRetentionDays"),
    ("azCount: 1", "tenancy:network.azCount"),
])
def test_stack_settings_aws_refuses_are_refused(tmp_path, setting, says):
    import shutil

    from tenancy.registry.project import validate_project

    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    dev = project / "Pulumi.dev.yaml"
    key = setting.split(":")[0]
    dev.write_text("\n".join(f"    {setting}" if line.strip().startswith(f"{key}:") else line
                             for line in dev.read_text().splitlines()) + "\n")
    with pytest.raises(RegistryInvalid) as caught:
        validate_project(project)
    assert [p.field for p in caught.value.problems] == [says]
    assert caught.value.problems[0].file.endswith("Pulumi.dev.yaml")


def test_a_second_load_in_one_process_sees_every_edit_even_of_the_same_size(registry_dir):
    """A plan loads the registry more than once per process, and each tenant file's reading is kept
    between loads: an edit in between (same length, same second) must still be seen."""
    before = load_registry(registry_dir).get("acme")
    path = registry_dir / "acme.yaml"
    text = path.read_text()
    assert "maxUsers: 500" in text
    path.write_text(text.replace("maxUsers: 500", "maxUsers: 400"))
    assert load_registry(registry_dir).get("acme").quotas.max_users == 400 != before.quotas.max_users
    path.write_text(text.replace("maxUsers: 500", "maxUsers: 5x0"))
    [problem] = problems_of(registry_dir)
    assert (problem.tenant, problem.field) == ("acme", "quotas.maxUsers")


def test_a_plans_edit_between_loads_reaches_every_tenant(registry_dir):
    """A tenant's effective quotas come from its plan: a cached reading of the tenant must not keep
    the old plan's values."""
    registry = load_registry(registry_dir)
    pooled = next(t for t in registry.tenants if t.tenant.plan == "starter" and "maxProjects" not in
                  (registry_dir / f"{t.id}.yaml").read_text())
    plans = registry_dir / "plans.yaml"
    old = registry.plans.plans["starter"].quotas.max_projects
    text = plans.read_text()
    marker = f"maxProjects: {old}"
    start = text.index("starter:")
    at = text.index(marker, start)
    plans.write_text(text[:at] + f"maxProjects: {old + 1}" + text[at + len(marker):])
    assert load_registry(registry_dir).get(pooled.id).quotas.max_projects == old + 1
