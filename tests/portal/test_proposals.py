"""Changes from the portal's forms: validated as `tenancy validate` validates, then one commit on a new
branch made with plumbing (HEAD, the index and the working tree untouched, even when dirty), and a
pull request when GitHub is configured; a refused change shows the registry's own message and writes
nothing."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tenancy.lifecycle.edit import Assignment
from tenancy.portal.proposals import GitFailed, GitHub, NothingToChange, Proposer
from tenancy.registry.problems import RegistryInvalid
from tenancy.registry.project import validate_project

from .conftest import PortalClient, branches, git, portal_app


def state(repo: Path) -> tuple[str, str, str, str]:
    """HEAD, the index, the working tree's status, and a tenant file's bytes: what must not move."""
    return (git(repo, "rev-parse", "HEAD"), git(repo, "write-tree"), git(repo, "status", "--porcelain"),
            (repo / "tenants" / "brightside.yaml").read_text())


def checkout_of(repo: Path, branch: str, target: Path) -> Path:
    """The branch's tree in a directory of its own (a throwaway clone)."""
    subprocess.run(["git", "clone", "-q", "--branch", branch, str(repo), str(target)], check=True)
    return target


def post(client: PortalClient, tenant: str, form: str, **data):
    return client.post(f"/tenants/{tenant}/{form}", data={"csrf": client.csrf(f"/tenants/{tenant}"), **data})


def test_a_quota_within_the_ceiling_becomes_one_commit_on_a_new_branch(client, identities, repo, tmp_path):
    (repo / "tenants" / "brightside.yaml").write_text((repo / "tenants" / "brightside.yaml").read_text() + "# wip\n")
    before = state(repo)  # a dirty working tree, which the portal must not touch either
    client.sign_in(identities.tenant_admin("brightside"))
    done = post(client, "brightside", "quotas", **{"quotas.maxUsers": "40", "quotas.maxAIRequests": "15000"})
    assert done.status_code == 303 and done.headers["location"] == "/tenants/brightside#proposals"
    assert len(done.headers["set-cookie"]) < 4096  # browsers drop bigger cookies: the session must stay small
    assert state(repo) == before
    [branch] = [b for b in branches(repo) if b != "main"]
    assert re.fullmatch(r"portal/brightside/quotas-[0-9a-f]{8}", branch)
    assert git(repo, "rev-list", "--count", f"main..{branch}") == "1"
    assert git(repo, "diff", "--name-only", f"main..{branch}") == "tenants/brightside.yaml"
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn|%s", branch) == (
        "admin@brightside.example <admin@brightside.example>|tenancy portal|"
        "portal: brightside: quotas: maxUsers the plan's default -> 40, maxAIRequests the plan's default -> 15000")
    checkout = checkout_of(repo, branch, tmp_path / "checkout")
    registry = validate_project(checkout)  # the branch's registry validates
    assert registry.get("brightside").quotas.max_users == 40
    text = (checkout / "tenants" / "brightside.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./schema.json\n")  # comments kept
    assert "quotas: {maxUsers: 40, maxAIRequests: 15000}" in text
    page = client.get("/tenants/brightside")
    assert f"on branch {branch}" in page.text and "+quotas: {maxUsers: 40, maxAIRequests: 15000}" in page.text
    assert f"<code>{branch}</code>" in page.text  # listed as waiting for review


def test_above_the_ceiling_the_registry_says_so_on_the_form_and_nothing_is_written(client, identities, repo):
    before = state(repo)
    client.sign_in(identities.tenant_admin("brightside"))
    refused = post(client, "brightside", "quotas", **{"quotas.maxUsers": "400"})
    assert refused.status_code == 422
    assert ("tenants/brightside.yaml:7: brightside: quotas.maxUsers: 400 is above plan &#39;starter&#39;&#39;s "
            "ceiling of 50") in refused.text
    assert 'id="errors-quotas"' in refused.text and 'value="400"' in refused.text  # the input is kept
    assert branches(repo) == ["main"] and state(repo) == before
    not_a_number = post(client, "brightside", "quotas", **{"quotas.maxUsers": "many"})
    assert not_a_number.status_code == 422 and "quotas.maxUsers: Input should be a valid integer" in not_a_number.text
    assert branches(repo) == ["main"]


def test_features_alert_emails_and_a_plan_change(client, identities, repo, tmp_path):
    client.sign_in(identities.tenant_admin("brightside"))
    assert post(client, "brightside", "features", feature=["basic-reports"], add="sso, audit-log").status_code == 303
    bad = post(client, "brightside", "alerts", alertEmails="owner@brightside.example\nnot-an-address")
    assert bad.status_code == 422 and "billing.alertEmails[1]: must be an e-mail address" in bad.text
    assert post(client, "brightside", "alerts", alertEmails="a@brightside.example, b@brightside.example").status_code == 303
    # enterprise tenants get their own network: the first free block is chosen for it
    assert post(client, "brightside", "plan", plan="enterprise", reason="we grew").status_code == 303
    made = {b.split("/")[2].rsplit("-", 1)[0]: b for b in branches(repo) if b != "main"}
    assert set(made) == {"features", "alert-emails", "plan-enterprise"}
    for branch in made.values():
        assert git(repo, "rev-list", "--count", f"main..{branch}") == "1"
    files = {name: yaml.safe_load(git(repo, "show", f"{branch}:tenants/brightside.yaml")) for name, branch in made.items()}
    assert files["features"]["features"] == ["basic-reports", "sso", "audit-log"]
    assert files["alert-emails"]["billing"]["alertEmails"] == ["a@brightside.example", "b@brightside.example"]
    assert files["plan-enterprise"]["plan"] == "enterprise" and "cidr" in files["plan-enterprise"]["network"]
    assert "we grew" in git(repo, "log", "-1", "--format=%B", made["plan-enterprise"])
    validate_project(checkout_of(repo, made["plan-enterprise"], tmp_path / "enterprise"))


def test_suspend_and_resume_are_for_platform_admins(client, identities, repo):
    client.sign_in(identities.platform_admin())
    assert post(client, "acme", "status", action="suspend").status_code == 303
    [branch] = [b for b in branches(repo) if b != "main"]
    assert branch.startswith("portal/acme/suspend-")
    assert yaml.safe_load(git(repo, "show", f"{branch}:tenants/acme.yaml"))["status"] == "suspended"
    page = client.get("/tenants/umbrella")
    assert "Propose resumption" in page.text
    assert post(client, "umbrella", "status", action="resume").status_code == 303


def test_nothing_to_change(client, identities, repo):
    client.sign_in(identities.tenant_admin("acme"))
    same = post(client, "acme", "quotas", **{"quotas.maxUsers": "500", "quotas.maxAIRequests": "200000",
                                             "quotas.storageLimit": "100", "quotas.computeLimit": "8"})
    assert same.status_code == 303 and branches(repo) == ["main"]
    assert "already says so" in client.get("/tenants/acme").text


def test_without_a_repository_the_portal_proposes_nothing(repo, identities):
    from tenancy.portal.app import PortalSettings, create_app
    from tenancy.portal.auth import AuthConfig
    from tenancy.portal.data import Sources

    from .conftest import SECRET

    app = create_app(PortalSettings(Sources(repo, repo / "tenants", "dev"), AuthConfig.from_mapping(identities.auth()),
                                    None, SECRET))
    client = PortalClient(app)
    try:
        client.sign_in(identities.tenant_admin("acme"))
        assert "it proposes nothing" in client.get("/tenants/acme").text
        refused = post(client, "acme", "quotas", **{"quotas.maxUsers": "600"})
        assert refused.status_code == 422 and "without a git repository" in refused.text
    finally:
        client.close()


# -- the proposer on its own ----------------------------------------------------------------------

def test_the_proposer_names_problems_by_the_repository_paths_and_refuses_what_is_not_there(repo):
    proposer = Proposer(repo, repo / "tenants")
    with pytest.raises(RegistryInvalid) as refused:
        proposer.propose("brightside", "quotas", [Assignment(("isolationLevel",), "dedicated")],
                         author=("a", "a@example.com"), summary="x")
    assert any(str(p).startswith("tenants/brightside.yaml:5: brightside: isolationLevel: plan 'starter' does not allow")
               for p in refused.value.problems), refused.value
    with pytest.raises(NothingToChange):
        proposer.propose("brightside", "plan", [Assignment(("plan",), "starter")], author=("a", "a@e.com"), summary="x")
    with pytest.raises(GitFailed, match="not on main"):
        proposer.propose("nobody", "plan", [], author=("a", "a@e.com"), summary="x")
    assert branches(repo) == ["main"]


def test_the_proposer_works_against_the_base_branch_not_the_checkout(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "tenants" / "brightside.yaml").unlink()
    git(repo, "commit", "-q", "-am", "gone on this branch")
    proposer = Proposer(repo, repo / "tenants", base="main")
    made = proposer.propose("brightside", "quotas", [Assignment(("quotas", "maxUsers"), 30)],
                            author=("a", "a@example.com"), summary="maxUsers 30")
    assert made.base == "main" and git(repo, "rev-parse", f"{made.branch}^") == git(repo, "rev-parse", "main")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "feature"
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(GitFailed, match="detached HEAD"):
        Proposer(repo, repo / "tenants")


def test_the_registry_must_be_in_the_repository(repo, tmp_path):
    from tenancy.exits import CommandError

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(CommandError, match="not inside the git repository"):
        Proposer(repo, elsewhere)


# -- GitHub -----------------------------------------------------------------------------------------

class FakeGitHub:
    """The pull-request endpoint of GitHub's REST API, on loopback: records what it is sent."""

    def __init__(self, status: int = 201):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body,
                                       "version": self.headers.get("X-GitHub-Api-Version")})
                reply = ({"number": 7, "html_url": "https://github.example/acme/registry/pull/7"} if status == 201
                         else {"message": "Validation Failed"})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def github():
    server = FakeGitHub()
    yield server
    server.stop()


def test_a_pull_request_is_opened_when_github_is_configured(repo, identities, github, tmp_path):
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(origin)], check=True)
    git(repo, "remote", "add", "origin", str(origin))
    client = PortalClient(portal_app(repo, identities, GitHub("acme/registry", "t0ken", github.url)))
    try:
        client.sign_in(identities.tenant_admin("acme"))
        assert post(client, "acme", "quotas", **{"quotas.maxUsers": "600"}).status_code == 303
        page = client.get("/tenants/acme")
    finally:
        client.close()
    [branch] = [b for b in branches(repo) if b != "main"]
    assert git(origin, "rev-parse", branch) == git(repo, "rev-parse", branch)  # pushed
    [request] = github.requests
    assert request["path"] == "/repos/acme/registry/pulls" and request["auth"] == "Bearer t0ken"
    assert request["version"] == "2022-11-28"
    body = request["body"]
    assert (body["head"], body["base"]) == (branch, "main")
    assert body["title"] == "acme: quotas: maxUsers 500 -> 600"
    assert "+quotas: {maxUsers: 600" in body["body"]
    assert "https://github.example/acme/registry/pull/7" in page.text


def test_a_refused_pull_request_keeps_the_branch_and_says_why(repo, tmp_path):
    server = FakeGitHub(status=422)
    try:
        origin = tmp_path / "origin.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(origin)], check=True)
        git(repo, "remote", "add", "origin", str(origin))
        proposer = Proposer(repo, repo / "tenants", github=GitHub("acme/registry", "t0ken", server.url))
        made = proposer.propose("acme", "quotas", [Assignment(("quotas", "maxUsers"), 700)],
                                author=("a", "a@example.com"), summary="maxUsers 700")
    finally:
        server.stop()
    assert made.pull_request is None and "GitHub refused the pull request (422): Validation Failed" in made.pull_request_error
    assert made.branch in branches(repo)
