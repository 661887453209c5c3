"""Registry edits keep what they do not touch: comments, key order, flow or block style, quoting and
every untouched line, byte for byte (compared as text); values are written as the registry reads them."""

from __future__ import annotations

import pytest

from tenancy.lifecycle.edit import DELETE, EditError, edit_text, parse_assignment
from tenancy.registry.source import parse_yaml

from ..conftest import REGISTRY


def edit(text: str, *assignments: str) -> str:
    return edit_text(text, [parse_assignment(a) for a in assignments])


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines only in before, lines only in after), with every other line in the same order."""
    a, b = before.splitlines(), after.splitlines()
    gone = [line for line in a if line not in b]
    new = [line for line in b if line not in a]
    assert [line for line in a if line in b] == [line for line in b if line in a]
    return gone, new


def test_setting_a_quota_in_a_flow_mapping_changes_that_line_only():
    before = (REGISTRY / "acme.yaml").read_text()
    after = edit(before, "quotas.maxUsers=600")
    assert changed_lines(before, after) == (
        ["quotas: {maxUsers: 500, maxAIRequests: 200000, storageLimit: 100, computeLimit: 8}"],
        ["quotas: {maxUsers: 600, maxAIRequests: 200000, storageLimit: 100, computeLimit: 8}"])
    assert after.startswith("# yaml-language-server: $schema=./schema.json\n")
    assert "network: {cidr: 10.64.0.0/20}   # its own VPC, outside the shared one\n" in after


def test_lists_are_replaced_in_their_style_and_long_lines_are_not_rewrapped():
    before = (REGISTRY / "initech.yaml").read_text()
    after = edit(before, "features=[sso,audit-log]", "billing.alertEmails=[a@b.c]")
    assert changed_lines(before, after) == (
        ["features: [sso, audit-log, ai-assistant]",
         "billing: {costCenter: cc-104, monthlyBudget: 4000, alertEmails: [finops@initech.example, cto@initech.example]}"],
        ["features: [sso, audit-log]",
         "billing: {costCenter: cc-104, monthlyBudget: 4000, alertEmails: [a@b.c]}"])


def test_a_new_key_goes_where_the_model_orders_it_and_new_mappings_are_flow_style():
    before = (REGISTRY / "brightside.yaml").read_text()
    after = edit(before, "quotas.maxUsers=40", "status=suspended", "services.database=dedicated")
    assert after.splitlines() == [
        "# yaml-language-server: $schema=./schema.json",
        "id: brightside",
        "name: Brightside Bakery",
        "plan: starter",
        "status: suspended",
        "environments: [dev, prod]",
        "services: {database: dedicated}",
        "dataIsolation: schema",
        "quotas: {maxUsers: 40}",
        "features: [basic-reports]",
        "billing: {costCenter: cc-201, monthlyBudget: 150, alertEmails: [owner@brightside.example]}",
    ]


HAND_WRITTEN = """\
---
# Hand-written, block style, with comments everywhere.
id: hand   # the id

name: "Hand Made"   # quoted on purpose
plan: starter
quotas:
  maxUsers: 10     # negotiated in 2023
  storageLimit: 5
# what it may use
features:
- sso
- audit-log
billing:
    costCenter: 'cc-1'
    alertEmails:
        - ops@hand.example
"""


def test_a_hand_written_block_style_file_keeps_every_untouched_line():
    after = edit(HAND_WRITTEN, "quotas.maxUsers=20", "quotas.computeLimit=2")
    assert after == HAND_WRITTEN.replace(
        "  maxUsers: 10     # negotiated in 2023\n  storageLimit: 5\n",
        "  maxUsers: 20     # negotiated in 2023\n  storageLimit: 5\n  computeLimit: 2\n")


def test_a_block_list_stays_a_block_list():
    after = edit(HAND_WRITTEN, "features=[a]")
    assert after == HAND_WRITTEN.replace("- sso\n- audit-log\n", "- a\n")


def test_null_removes_a_field_its_emptied_mapping_and_not_the_comment_below_it():
    text = "id: x\nquotas: {maxUsers: 1}   # q\n# billing, for finance\nbilling: {costCenter: c}\n"
    assert edit(text, "quotas.maxUsers=null") == "id: x\n# billing, for finance\nbilling: {costCenter: c}\n"
    assert edit(HAND_WRITTEN, "quotas=null") == HAND_WRITTEN.replace(
        "quotas:\n  maxUsers: 10     # negotiated in 2023\n  storageLimit: 5\n", "")
    assert edit(text, "services.cache=null") == text  # removing what is not there changes nothing


def test_strings_the_registry_would_read_as_something_else_are_quoted():
    text = (REGISTRY / "brightside.yaml").read_text()
    after = edit(text, "billing.costCenter='007'", "name='yes'")
    assert "billing: {costCenter: '007'," in after and "name: 'yes'\n" in after
    data = parse_yaml(after).data
    assert data["billing"]["costCenter"] == "007" and data["name"] == "yes"


@pytest.mark.parametrize("text, path, value", [
    ("quotas.maxUsers=600", ("quotas", "maxUsers"), 600),
    ("features=[sso,audit-log]", ("features",), ["sso", "audit-log"]),
    ("billing.alertEmails=[a@b.c]", ("billing", "alertEmails"), ["a@b.c"]),
    ("network.cidr=10.64.0.0/20", ("network", "cidr"), "10.64.0.0/20"),
    ("services.database=dedicated", ("services", "database"), "dedicated"),
    ("quotas.storageLimit=2.5", ("quotas", "storageLimit"), 2.5),
    ("name=Acme = Corp", ("name",), "Acme = Corp"),
    ("quotas.maxUsers=null", ("quotas", "maxUsers"), DELETE),
])
def test_assignments_are_dotted_fields_and_yaml_values(text, path, value):
    assignment = parse_assignment(text)
    assert (assignment.path, assignment.value) == (path, value)


@pytest.mark.parametrize("text", ["quotas.maxUsers", "=5", "quotas..maxUsers=5", "quotas.maxUsers=", "a=[b"])
def test_malformed_assignments_are_usage_errors(text):
    with pytest.raises(EditError) as err:
        parse_assignment(text)
    assert err.value.code == 2


def test_a_path_through_a_value_is_refused():
    with pytest.raises(EditError, match="name holds a str"):
        edit((REGISTRY / "acme.yaml").read_text(), "name.first=A")


def test_a_new_key_goes_above_the_comment_that_belongs_to_the_next_key():
    text = "# header\n\nid: x\nplan: y\n\n# about environments\nenvironments: [dev]\nbilling: {costCenter: c}\n# the end\n"
    assert edit(text, "status=suspended", "features=[a]") == (
        "# header\n\nid: x\nplan: y\nstatus: suspended\n\n# about environments\nenvironments: [dev]\n"
        "features: [a]\nbilling: {costCenter: c}\n# the end\n")
