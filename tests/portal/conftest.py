"""The portal's test world: a git repository holding a copy of the tests' project (its registry and
stack files, committed on `main`), identity providers on a loopback JWKS server (the tenant-context
tests' `idp`: a user pool shared by the tenants, the platform's own pool, a rogue pool nobody
trusts), and the portal application over them."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.ports import free_port
from tenancy.portal.app import PortalSettings, create_app
from tenancy.portal.auth import AuthConfig
from tenancy.portal.data import Sources
from tenancy.portal.proposals import GitHub, Proposer

from ..conftest import PROJECT
from ..context.idp import JwksServer, UserPool

TENANT_CLIENT, PLATFORM_CLIENT = "portal-tenants", "portal-admin"
SECRET = "a test secret that is at least 32 characters long"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(target: Path) -> Path:
    """The tests' project as a git repository with one commit on `main`."""
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    git(target, "init", "-q", "-b", "main")
    git(target, "config", "user.name", "Test")
    git(target, "config", "user.email", "test@example.com")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "the registry")
    return target


def branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").splitlines()


@dataclass
class Identities:
    tenants: UserPool
    platform: UserPool
    rogue: UserPool

    def auth(self) -> dict:
        return {"platform": {"issuer": self.platform.issuer, "jwksUrl": self.platform.jwks_url,
                             "audience": [PLATFORM_CLIENT]},
                "tenants": {"default": {"issuer": self.tenants.issuer, "jwksUrl": self.tenants.jwks_url,
                                        "audience": [TENANT_CLIENT]}}}

    def tenant_admin(self, tenant: str, groups=("tenant-admins",), **claims) -> str:
        return self.tenants.token(tenant, TENANT_CLIENT, **{"cognito:groups": list(groups),
                                                            "email": f"admin@{tenant}.example", **claims})

    def platform_admin(self, groups=("platform-admins",), **claims) -> str:
        return self.platform.token(None, PLATFORM_CLIENT, **{"cognito:groups": list(groups),
                                                             "email": "ops@platform.example", **claims})


@pytest.fixture(scope="session")
def identities():
    server = JwksServer()
    yield Identities(UserPool(server, "Tenants"), UserPool(server, "Platform"), UserPool(server, "Rogue"))
    server.stop()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A fresh copy of the tests' project as a git repository, for a test that may change it."""
    return make_repo(tmp_path / "repo")


def portal_app(repo: Path, identities: Identities, github: GitHub | None = None, **sources):
    registry = repo / "tenants"
    settings = PortalSettings(
        Sources(repo, registry, environment=sources.pop("environment", "dev"), **sources),
        AuthConfig.from_mapping(identities.auth()), Proposer(repo, registry, github=github), SECRET)
    return create_app(settings)


class PortalClient:
    """An HTTP client of the application in this process, with a cookie jar, for the tests that need
    no browser (httpx over ASGI, on an event loop of its own)."""

    def __init__(self, app, host: str = "portal.test"):
        import anyio.from_thread
        import httpx

        self._blocking = anyio.from_thread.start_blocking_portal()
        self._loop = self._blocking.__enter__()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")

    def request(self, method: str, url: str, **kwargs):
        return self._loop.call(functools.partial(self.http.request, method, url, **kwargs))

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.request("POST", url, **kwargs)

    def csrf(self, url: str = "/login") -> str:
        """The session's CSRF token, as the form of a page carries it."""
        match = re.search(r'name="csrf" value="([^"]+)"', self.get(url, follow_redirects=True).text)
        assert match, f"no form on {url}"
        return match.group(1)

    def sign_in(self, token: str):
        return self.post("/login", data={"csrf": self.csrf(), "id_token": token}, follow_redirects=False)

    def close(self) -> None:
        self._loop.call(self.http.aclose)
        self._blocking.__exit__(None, None, None)


@pytest.fixture
def client(repo, identities):
    """An HTTP client of the portal over `repo`, nobody signed in yet; closed after the test."""
    client = PortalClient(portal_app(repo, identities))
    yield client
    client.close()


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread, until stop()."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="portal", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
