"""A registry change proposed from the portal: validated exactly as `tenancy validate` validates,
then one commit on a new branch of the registry's git repository, and (when configured) a GitHub
pull request. The portal never deploys and never writes to a checked-out branch.

The change is made against the base branch's commit, not the working tree: the registry and stack
files of that commit are read with `git cat-file`, the tenant file is edited with the lifecycle's
comment-preserving round trip (`tenancy.lifecycle.edit.edit_text`), the would-be registry is
validated by `tenancy.lifecycle.changes.prepare` (problems named by the repository's own paths, and
nothing written when there is one), and the commit is made with plumbing alone (`hash-object`,
`read-tree` and `update-index` into a private index file, `write-tree`, `commit-tree`,
`update-ref` that refuses to move an existing branch). Neither HEAD, nor the index, nor the working
tree of the repository change.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tenancy.exits import CommandError
from tenancy.lifecycle.changes import Edit, prepare, read_tenant_file, relocate
from tenancy.lifecycle.edit import Assignment, edit_text, unified_diff
from tenancy.registry.loader import PLANS_FILE, display
from tenancy.registry.problems import Problem, RegistryInvalid

BRANCH_PREFIX = "portal"
COMMITTER = ("tenancy portal", "portal@tenancy.invalid")
GIT_TIMEOUT = 60
SAFE_WORD = re.compile(r"[^a-z0-9-]+")


class GitFailed(CommandError):
    """git refused or failed: exit 2 on the command line, an error on the page."""


class NothingToChange(Exception):
    """The tenant file already says what was asked."""


@dataclass(frozen=True)
class Proposal:
    tenant: str
    change: str
    branch: str
    commit: str
    base: str
    path: str  # the tenant file, relative to the repository
    diff: list[str]
    pull_request: Optional[str] = None  # its URL
    pull_request_error: Optional[str] = None


@dataclass(frozen=True)
class PendingBranch:
    branch: str
    commit: str
    subject: str
    date: str


def _git_env(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    env.update(extra or {})
    return env


class Git:
    """git in one repository, through subprocess; every failure a GitFailed with git's own words."""

    def __init__(self, repo: Path):
        self.repo = Path(repo)

    def run(self, *args: str, input: Optional[bytes] = None, env: Optional[dict[str, str]] = None) -> bytes:
        try:
            done = subprocess.run(["git", "-C", str(self.repo), *args], input=input, capture_output=True,
                                  env=_git_env(env), timeout=GIT_TIMEOUT, check=False)
        except FileNotFoundError:
            raise GitFailed("git is not installed") from None
        except subprocess.TimeoutExpired:
            raise GitFailed(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise GitFailed(f"git {' '.join(args[:2])}: {message}")
        return done.stdout

    def text(self, *args: str, **kwargs) -> str:
        return self.run(*args, **kwargs).decode("utf-8", "replace").strip()

    def toplevel(self) -> Path:
        return Path(self.text("rev-parse", "--show-toplevel")).resolve()

    def current_branch(self) -> str:
        try:
            return self.text("symbolic-ref", "--quiet", "--short", "HEAD")
        except GitFailed:
            raise GitFailed(f"{self.repo} has a detached HEAD: give the base branch (--base)") from None

    def commit_of(self, ref: str) -> str:
        try:
            return self.text("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitFailed:
            raise GitFailed(f"{ref!r} is not a branch or commit of {self.repo}") from None

    def ls_tree(self, commit: str, directory: str) -> list[tuple[str, str, str, str]]:
        """(mode, type, object, path) of the entries directly under `directory` ('' for the root)."""
        spec = f"{commit}:{directory}" if directory else commit
        try:
            out = self.run("ls-tree", "-z", spec)
        except GitFailed:
            return []
        entries = []
        for item in out.split(b"\0"):
            if not item:
                continue
            meta, name = item.decode("utf-8", "replace").split("\t", 1)
            mode, kind, obj = meta.split()
            entries.append((mode, kind, obj, f"{directory}/{name}" if directory else name))
        return entries


def branch_name(tenant: str, change: str, commit: str) -> str:
    """`portal/<tenant>/<change>-<short hash>`: unique (the hash is the commit's), readable, and a
    valid ref name."""
    word = SAFE_WORD.sub("-", change.lower()).strip("-") or "change"
    return f"{BRANCH_PREFIX}/{tenant}/{word}-{commit[:8]}"


@dataclass(frozen=True)
class GitHub:
    """Where pull requests go: `owner/name`, a token that may push and open pull requests, the API's
    base URL (GitHub Enterprise: `https://HOST/api/v3`) and the git remote to push branches to."""

    repository: str
    token: str
    api: str = "https://api.github.com"
    remote: str = "origin"
    timeout: float = 20.0

    def push(self, git: Git, branch: str) -> None:
        """Push the branch; the token travels as an HTTP header through git's environment, never in
        its arguments (which `ps` shows) nor in the remote's URL."""
        url = git.text("remote", "get-url", self.remote)
        env = {}
        if url.startswith("https://"):
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                   "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}
        git.run("push", "--quiet", self.remote, f"refs/heads/{branch}:refs/heads/{branch}", env=env)

    def open_pull_request(self, branch: str, base: str, title: str, body: str) -> str:
        import httpx

        try:
            response = httpx.post(
                f"{self.api.rstrip('/')}/repos/{self.repository}/pulls", timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "tenancy-portal"},
                json={"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": False})
        except httpx.HTTPError as exc:
            raise GitFailed(f"GitHub is unreachable: {exc}") from None
        if response.status_code != 201:
            try:
                detail = response.json().get("message", "")
            except ValueError:
                detail = response.text[:200]
            raise GitFailed(f"GitHub refused the pull request ({response.status_code}): {detail}")
        return response.json().get("html_url", "")


class Proposer:
    """Proposes registry changes on new branches of `repo`, against `base` (default: the branch
    checked out there, read at each proposal). One proposal at a time."""

    def __init__(self, repo: Path | str, registry_dir: Path | str, base: Optional[str] = None,
                 github: Optional[GitHub] = None):
        self.git = Git(Path(repo))
        top = self.git.toplevel()
        registry = Path(registry_dir).resolve()
        try:
            self.registry_path = registry.relative_to(top).as_posix()
        except ValueError:
            raise CommandError(f"the registry {registry_dir} is not inside the git repository {top}") from None
        parent = Path(self.registry_path).parent.as_posix()
        self.project_path = "" if parent == "." else parent
        self.base = base
        self.github = github
        self._lock = threading.Lock()
        self.base_branch()  # fail at start on a detached HEAD without --base

    def base_branch(self) -> str:
        return self.base or self.git.current_branch()

    def _export(self, commit: str, target: Path) -> Path:
        """The commit's stack files and registry under `target`; the registry directory returned."""
        registry = target / self.registry_path
        registry.mkdir(parents=True)
        wanted = [(obj, path) for _, kind, obj, path in self.git.ls_tree(commit, self.project_path)
                  if kind == "blob" and re.fullmatch(r"Pulumi\.[^/]+\.yaml", Path(path).name)]
        wanted += [(obj, path) for _, kind, obj, path in self.git.ls_tree(commit, self.registry_path)
                   if kind == "blob" and Path(path).suffix in (".yaml", ".yml")]
        if not any(Path(p).name == PLANS_FILE for _, p in wanted):
            raise GitFailed(f"{self.registry_path}/{PLANS_FILE} is not in {commit[:12]}: is this the registry's "
                            "repository and branch?")
        for obj, path in wanted:
            (target / path).write_bytes(self.git.run("cat-file", "blob", obj))
        return registry

    def pending(self, tenant: str) -> list[PendingBranch]:
        """The portal's branches for a tenant that exist in the repository, newest first."""
        out = self.git.text("for-each-ref", "--sort=-creatordate",
                            "--format=%(refname:short)%09%(objectname:short)%09%(subject)%09%(creatordate:short)",
                            f"refs/heads/{BRANCH_PREFIX}/{tenant}/")
        return [PendingBranch(*line.split("\t", 3)) for line in out.splitlines() if line.count("\t") >= 3]

    def diff(self, commit: str) -> list[str]:
        """A portal commit's change, as a unified diff (nothing for a commit it does not know)."""
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            return []
        try:
            return self.git.text("diff", f"{commit}^", commit).splitlines()
        except GitFailed:
            return []

    def propose(self, tenant: str, change: str, assignments: Sequence[Assignment] | None = None, *,
                author: tuple[str, str], summary: str, reason: str = "",
                plan_block: Optional[Callable[[Path, Path, str], list[Assignment]]] = None) -> Proposal:
        """Validate the change on the base branch's registry and commit it on a new branch.

        `plan_block(project_dir, registry_dir, text_after) -> [Assignment]`, when given, adds
        assignments computed from the would-be file (a free address block for a new tier).
        Raises RegistryInvalid (the registry's own problems, nothing written), NothingToChange,
        EditError or GitFailed."""
        with self._lock, tempfile.TemporaryDirectory(prefix="tenancy-portal-") as tmp:
            base_branch = self.base_branch()
            base = self.git.commit_of(base_branch)
            project = Path(tmp) / "project"
            registry = self._export(base, project)
            registry_project = registry.parent
            path = next((registry / f"{tenant}{s}" for s in (".yaml", ".yml") if (registry / f"{tenant}{s}").is_file()),
                        None)
            if path is None:
                raise GitFailed(f"{self.registry_path}/{tenant}.yaml is not on {base_branch}")
            before, newline = read_tenant_file(path)
            assignments = list(assignments or [])
            after = edit_text(before, assignments)
            if plan_block is not None:
                extra = plan_block(registry_project, registry, after)
                if extra:
                    assignments += extra
                    after = edit_text(before, assignments)
            if after == before:
                raise NothingToChange(f"{tenant}'s file already says so; nothing to propose")
            repo_file = f"{self.registry_path}/{path.name}"
            edit = Edit(tenant, path, before, after, newline)
            try:
                with prepare(registry_project, registry, edit):
                    pass
            except RegistryInvalid as exc:
                raise _named(relocate(exc, registry, Path(self.registry_path)), registry_project) from None
            commit = self._commit(base, repo_file, after.replace("\n", newline).encode("utf-8"), author,
                                  f"portal: {tenant}: {summary}", _body(tenant, summary, reason, author))
            branch = branch_name(tenant, change, commit)
            self.git.run("update-ref", f"refs/heads/{branch}", commit, "")  # "": only if it does not exist
            proposal = Proposal(tenant, change, branch, commit, base_branch, repo_file,
                                unified_diff(before, after, repo_file))
        if self.github is not None:
            proposal = self._pull_request(proposal, summary, reason, author)
        return proposal

    def _commit(self, base: str, repo_file: str, content: bytes, author: tuple[str, str], subject: str,
                body: str) -> str:
        mode = next((m for m, _, _, p in self.git.ls_tree(base, self.registry_path) if p == repo_file), "100644")
        blob = self.git.text("hash-object", "-w", "--stdin", input=content)
        with tempfile.TemporaryDirectory(prefix="tenancy-portal-index-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git.run("read-tree", base, env=index)
            self.git.run("update-index", "--add", "--cacheinfo", f"{mode},{blob},{repo_file}", env=index)
            tree = self.git.text("write-tree", env=index)
        name, email = author
        people = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                  "GIT_COMMITTER_NAME": COMMITTER[0], "GIT_COMMITTER_EMAIL": COMMITTER[1]}
        return self.git.text("commit-tree", tree, "-p", base, "-F", "-", input=f"{subject}\n\n{body}\n".encode(),
                             env=people)

    def _pull_request(self, proposal: Proposal, summary: str, reason: str, author: tuple[str, str]) -> Proposal:
        try:
            self.github.push(self.git, proposal.branch)
            url = self.github.open_pull_request(
                proposal.branch, proposal.base, f"{proposal.tenant}: {summary}",
                _body(proposal.tenant, summary, reason, author) + "\n\n```diff\n" + "\n".join(proposal.diff) + "\n```")
        except GitFailed as exc:
            return dataclasses.replace(proposal, pull_request_error=str(exc))
        return dataclasses.replace(proposal, pull_request=url)


def _body(tenant: str, summary: str, reason: str, author: tuple[str, str]) -> str:
    lines = [f"Proposed in the tenancy portal by {author[0]} <{author[1]}> for tenant {tenant}: {summary}."]
    if reason.strip():
        lines += ["", "Reason given:", "", reason.strip()]
    lines += ["", "Validated as `tenancy validate` validates it; merging it and deploying the tenant's stack applies it."]
    return "\n".join(lines)


def _named(exc: RegistryInvalid, project: Path) -> RegistryInvalid:
    """Stack files of the private copy named as the repository names them."""
    prefixes = sorted({str(project) + os.sep, display(project) + os.sep}, key=len, reverse=True)

    def named(problem: Problem) -> Problem:
        for prefix in prefixes:
            if problem.file.startswith(prefix):
                return dataclasses.replace(problem, file=problem.file[len(prefix):])
        return problem

    return RegistryInvalid([named(p) for p in exc.problems])


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.field, []).append(p.message)
    return out
