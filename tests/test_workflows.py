"""The GitHub workflows: valid against the GitHub Actions workflow schema, and wired as intended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


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


def test_pull_request_plans_run_without_credentials():
    pr = load("pr.yml")
    assert pr["permissions"] == {"contents": "read"}
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
