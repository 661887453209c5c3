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
    assert {p.name for p in WORKFLOWS} == {"pr.yml", "pr-comment.yml", "preview.yml", "deploy.yml", "deploy-wave.yml"}


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
        **{f"deploy.wave-{n}": {"id-token": "write"} for n in range(1, 7)},
        "deploy-wave.up": {"id-token": "write"},
        "deploy.dataplane": {"id-token": "write"},
        "preview.preview": {"id-token": "write", "pull-requests": "write"},
        "pr-comment.comment": {"pull-requests": "write"},
    }


def test_checkouts_do_not_persist_the_token():
    for path in WORKFLOWS:
        for job in load(path.name)["jobs"].values():
            for step in job.get("steps", []):  # a job calling a reusable workflow has none
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
    # the comment leads with the change: each stack planned at the base too, which needs its history
    assert '--base "$BASE_SHA"' in steps
    plan_step = next(s for s in pr["jobs"]["plan"]["steps"] if "tenancy plan" in str(s.get("run", "")))
    assert plan_step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    checkout = next(s for s in pr["jobs"]["plan"]["steps"] if "actions/checkout" in s.get("uses", ""))
    assert str(checkout["with"]["fetch-depth"]) == "0"
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


def test_deploys_go_wave_by_wave_each_gated_on_every_wave_before_it():
    """Waves 1-6 (`tenancy stacks`): each a matrix of its stacks from `tenancy affected`, needing every
    wave before it (and the canary gate) and running only if none failed or was cancelled."""
    jobs = load("deploy.yml")["jobs"]
    affected = " ".join(str(s.get("run", "")) for s in jobs["affected"]["steps"])
    assert "tenancy affected --base" in affected and "select(.wave == $wave)" in affected
    before: list[str] = ["affected"]
    for n in range(1, 7):
        job = jobs[f"wave-{n}"]
        needs = [job["needs"]] if isinstance(job["needs"], str) else job["needs"]
        assert needs == before, (n, needs)
        assert job["uses"] == "./.github/workflows/deploy-wave.yml"
        assert job["with"]["matrix"] == f"${{{{ needs.affected.outputs.wave{n} }}}}"
        assert f"needs.affected.outputs.has{n} == 'true'" in job["if"]
        if n > 1:
            assert "!contains(needs.*.result, 'failure')" in job["if"] and "!cancelled()" in job["if"]
        before = before + [f"wave-{n}"] + (["canary-gate"] if n == 3 else [])
    gate = jobs["canary-gate"]
    assert gate["environment"] == "canary" and gate["needs"] == ["affected", "wave-1", "wave-2", "wave-3"]
    assert jobs["dataplane"]["needs"] == before


def test_a_wave_deploys_its_stacks_in_parallel_with_a_concurrency_group_per_stack():
    up = load("deploy-wave.yml")["jobs"]["up"]
    assert up["strategy"]["matrix"] == "${{ fromJSON(inputs.matrix) }}"
    assert int(up["strategy"]["max-parallel"]) > 1 and up["strategy"]["fail-fast"] == "false"
    assert up["concurrency"]["group"] == "deploy-${{ matrix.stack }}" and up["concurrency"]["cancel-in-progress"] == "false"
    assert next(s for s in up["steps"] if str(s.get("uses", "")).startswith("pulumi/actions"))["with"]["command"] == "up"
