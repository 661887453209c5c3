"""`tenancy plan --base <ref>`: the stacks a change touches planned at the base and at the working
tree, compared per stack and tenant, with one line on whether any other tenant's resources change
(in a throwaway git repository holding a copy of the tests' own project)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ..conftest import PROJECT
from ..run_cli import Result, tenancy

GIT = ["git", "-c", "user.email=tests@example.com", "-c", "user.name=tests", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module", autouse=True)
def private_tempdir(tmp_path_factory):
    """This module's own temporary directory, where `plan --base` extracts the base: what `state`
    checks is then this module's alone, not another test process's run of `plan --base`."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tmp"))
    yield
    tempfile.tempdir = saved


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The fixture project committed in a repository of its own (the project in a subdirectory, as
    a project inside a larger repository is)."""
    root = tmp_path_factory.mktemp("repo")
    project = root / "infra"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, project / name)
    shutil.copytree(PROJECT / "tenants", project / "tenants")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return project


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def plan(project: Path, *args: str) -> Result:
    result = tenancy("plan", "--base", "main", "--environment", "dev", *args, cwd=project)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def state(repo: Path) -> tuple:
    """What `plan --base` must leave as it was: the repository's status and worktrees, and the
    temporary directories it extracts the base into."""
    return (git(repo, "status", "--porcelain"), git(repo, "worktree", "list"),
            sorted(Path(tempfile.gettempdir()).glob("tenancy-base-*")))


@pytest.fixture(scope="module")
def quota_change(repo: Path) -> dict[str, Result]:
    """A pooled tenant's quota raised: every output format of the one change."""
    edit(repo / "tenants" / "brightside.yaml", "features: [basic-reports]",
         "quotas: {maxAIRequests: 15000}\nfeatures: [basic-reports]")
    try:
        before = state(repo)
        results = {fmt: plan(repo, "--format", fmt) for fmt in ("json", "markdown", "table")}
        results["unchanged"] = state(repo) == before
        return results
    finally:
        git(repo, "checkout", "-q", "--", ".")


def test_a_pooled_tenants_quota_change_shows_only_that_tenants_resources(quota_change):
    result = quota_change["json"]
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["stack"] for s in data["stacks"]] == ["dev-pool"]
    [stack] = data["stacks"]
    assert stack["changes"] and {c["owner"] for c in stack["changes"]} == {"brightside"}
    assert {c["action"] for c in stack["changes"]} <= {"update", "replace"} and data["counts"]["create"] == 0
    usage_plan = next(c for c in stack["changes"] if c["type"] == "aws:apigateway/usagePlan:UsagePlan")
    assert usage_plan["action"] == "update" and usage_plan["keys"] == ["quotaSettings"]
    assert [(c["before"], c["after"]) for c in usage_plan["changes"]] == [("10000", "15000")]
    assert data["targets"] == ["brightside"] and data["otherTenants"] == []
    assert stack["plan"]["policy"]["passed"]  # the working tree's plan is judged as `tenancy plan` judges it


def test_the_table_says_no_other_tenant_changes(quota_change):
    text = quota_change["table"].stdout
    assert "dev-pool: 1 to update, 1 to replace" in text
    assert "brightside: update apigateway.UsagePlan dev-brightside-api-plan" in text
    assert "No other tenant's resources change: only brightside's." in text


def test_markdown_leads_with_the_diff_and_collapses_the_inventory(quota_change):
    text = quota_change["markdown"].stdout
    lines = text.splitlines()
    assert lines[0] == "<!-- tenancy-plan:dev-pool -->" and lines[1] == "### ✅ tenancy plan: `dev-pool` against `main`"
    diff_row = next(i for i, line in enumerate(lines) if line.startswith("| brightside | update |"))
    other_line = lines.index("✅ No other tenant's resources change: only brightside's.")
    inventory = next(i for i, line in enumerate(lines) if line.startswith("| Tenant | Plan |"))
    first_details = next(i for i, line in enumerate(lines) if line.startswith("<details>"))
    assert diff_row < other_line < first_details < inventory
    assert lines[first_details].startswith("<details><summary>Full plan of <code>dev-pool</code> after the change")
    assert text.rstrip().endswith("</details>")


def test_secrets_never_appear(quota_change, repo):
    # The flags document is a secret input; it changes with the quota, and only its mask shows.
    flags = next(c for c in json.loads(quota_change["json"].stdout)["stacks"][0]["changes"]
                 if c["type"].endswith("HostedConfigurationVersion"))
    assert flags["action"] == "replace" and {(c["before"], c["after"]) for c in flags["changes"]} == {
        ("[secret]", "[secret]")}
    for fmt in ("json", "markdown", "table"):
        result = quota_change[fmt]
        assert "offline-" not in result.stdout  # generated passwords and API keys
        assert '"maxAIRequests"' not in result.stdout and "15000}" not in result.stdout  # the flags document


def test_a_change_that_touches_another_tenant_says_so(repo):
    edit(repo / "tenants" / "brightside.yaml", "features: [basic-reports]",
         "quotas: {maxAIRequests: 15000}\nfeatures: [basic-reports]")
    edit(repo / "tenants" / "plans.yaml", "maxAIRequests: 10000", "maxAIRequests: 12000")  # starter: umbrella too
    try:
        result = plan(repo, "--format", "markdown")
    finally:
        git(repo, "checkout", "-q", "--", ".")
    assert result.returncode == 0, result.stderr
    assert "⚠️ Other tenants' resources change: umbrella (dev-pool)." in result.stdout
    assert "tenants/plans.yaml" in result.stdout
    assert "| umbrella | update | `dev-umbrella-api-plan` |" in result.stdout


def test_a_new_dedicated_tenant_is_created_in_its_own_stack_and_touches_nobody_else(repo):
    shutil.copy(repo / "tenants" / "initech.yaml", repo / "tenants" / "hooli.yaml")
    edit(repo / "tenants" / "hooli.yaml", "id: initech", "id: hooli")
    edit(repo / "tenants" / "hooli.yaml", "10.0.64.0/20", "10.0.80.0/20")
    edit(repo / "tenants" / "hooli.yaml", "environments: [dev, staging, prod]", "environments: [dev]")
    try:
        data = json.loads(plan(repo, "--format", "json").stdout)
    finally:
        (repo / "tenants" / "hooli.yaml").unlink()
    [stack] = data["stacks"]
    assert stack["stack"] == "dev-hooli" and not stack["existed"] and stack["exists"]
    assert data["counts"]["create"] > 20 and sum(data["counts"].values()) == data["counts"]["create"]
    assert data["targets"] == ["hooli"] and data["otherTenants"] == []


def test_the_repository_and_the_temporary_base_are_left_as_they_were(quota_change, repo):
    assert quota_change["unchanged"] is True
    result = plan(repo, "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["stacks"] == []  # nothing changed: nothing planned


def test_an_unknown_base_exits_two(repo):
    result = tenancy("plan", "--base", "no-such-ref", "--environment", "dev", cwd=repo)
    assert result.returncode == 2 and "no-such-ref" in result.stderr and "Traceback" not in result.stderr
