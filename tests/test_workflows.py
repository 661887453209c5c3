"""The GitHub workflows: valid against the GitHub Actions workflow schema, clean for zizmor and
actionlint, and wired as intended."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
INSTALL_ACTIONLINT = ".ci/tools/install-actionlint.sh"


def load(name: str) -> dict:
    return yaml.load((ROOT / ".github" / "workflows" / name).read_text(), Loader=yaml.BaseLoader)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_the_github_actions_schema(path):
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expected_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"pr.yml", "pr-comment.yml", "preview.yml", "deploy.yml"}


def test_zizmor_finds_nothing():
    """zizmor (offline, default persona): every finding fixed, or ignored inline with its reason."""
    zizmor = BIN / "zizmor"
    assert zizmor.exists(), f"{zizmor} is missing: it comes with requirements-dev.txt (make .venv/.installed)"
    result = subprocess.run([str(zizmor), "--offline", "--no-progress", "--color", "never", ".github/workflows"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    """actionlint, with shellcheck on the `run:` scripts (both installed by .ci/tools/install-actionlint.sh)."""
    actionlint, shellcheck = BIN / "actionlint", BIN / "shellcheck"
    if not (actionlint.exists() and shellcheck.exists()):
        pytest.fail(f"actionlint and shellcheck are not installed in {BIN}: run `sh {INSTALL_ACTIONLINT}`")
    result = subprocess.run([str(actionlint), "-no-color", f"-shellcheck={shellcheck}", *map(str, WORKFLOWS)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_actions_are_pinned_to_a_commit_with_its_version_and_ignores_give_a_reason(path):
    text = path.read_text()
    for uses in re.findall(r"^\s*(?:-\s+)?uses:\s*(.*)$", text, flags=re.M):
        assert uses.startswith("./") or re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", uses), uses
    for reason in re.findall(r"# zizmor: ignore\[[\w,\s-]+\](.*)$", text, flags=re.M):
        assert len(reason.split()) >= 5, f"a zizmor ignore without its reason in {path.name}"


def test_write_permissions_and_oidc_tokens_go_only_to_the_jobs_that_need_them():
    granted = {}
    for path in WORKFLOWS:
        workflow = load(path.name)
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            granted[f"{path.stem}.{name}"] = {k: v for k, v in job["permissions"].items() if v != "read"}
    assert {job: grants for job, grants in granted.items() if grants} == {
        "deploy.up": {"id-token": "write"},
        "deploy.dataplane": {"id-token": "write"},
        "preview.preview": {"id-token": "write", "pull-requests": "write"},
        "pr-comment.comment": {"pull-requests": "write"},
    }


def test_checkouts_do_not_persist_the_token():
    for path in WORKFLOWS:
        for job in load(path.name)["jobs"].values():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") == "false", path.name


def test_pull_request_plans_run_without_credentials():
    pr = load("pr.yml")
    assert pr["permissions"] == {}
    assert all(job["permissions"] in ({}, {"contents": "read"}) for job in pr["jobs"].values())
    text = (ROOT / ".github" / "workflows" / "pr.yml").read_text()
    assert "secrets." not in text and "id-token" not in text
    steps = " ".join(str(s.get("run", "")) for s in pr["jobs"]["plan"]["steps"])
    assert "tenancy plan --stack" in steps and "--format markdown" in steps
    assert "tenancy affected --base" in " ".join(str(s.get("run", "")) for s in pr["jobs"]["affected"]["steps"])
    assert "make test" in [s.get("run") for s in pr["jobs"]["test"]["steps"]]


def test_the_comment_is_updated_not_duplicated_and_never_runs_pr_code():
    comment = load("pr-comment.yml")
    steps = comment["jobs"]["comment"]["steps"]
    assert not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps)
    script = steps[-1]["with"]["script"]
    assert "updateComment" in script and "createComment" in script and "<!-- tenancy-plans -->" in script
    # The artifact is untrusted: no expression expands into the script, and the pull request it
    # names must be at the commit the `pr` run tested.
    assert "${{" not in script
    assert "pull.head.sha !== headSha" in script


def test_previews_use_the_policy_pack_and_comment_per_stack():
    preview = load("preview.yml")
    pulumi_step = next(s for s in preview["jobs"]["preview"]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))
    assert pulumi_step["with"]["command"] == "preview"
    assert pulumi_step["with"]["policyPacks"] == "policies"
    assert pulumi_step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.environment }}.json"
    assert pulumi_step["with"]["edit-pr-comment"] == "true"
    assert "AWS_ROLE_ARN" in preview["jobs"]["affected"]["if"]


def test_deploys_go_one_stack_at_a_time_in_order_with_a_concurrency_group_per_stack():
    up = load("deploy.yml")["jobs"]["up"]
    assert up["strategy"]["max-parallel"] == "1" and up["strategy"]["fail-fast"] == "true"
    assert up["concurrency"]["group"] == "deploy-${{ matrix.stack }}"
    assert next(s for s in up["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))["with"]["command"] == "up"
