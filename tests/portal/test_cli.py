"""`tenancy portal`: what it starts with, and what stops it before it serves anything."""

from __future__ import annotations

import json

import pytest
import yaml

from ..run_cli import tenancy


@pytest.fixture
def served(monkeypatch):
    """The settings `tenancy portal` would serve, instead of serving them."""
    import tenancy.portal.app

    calls = []
    monkeypatch.setattr(tenancy.portal.app, "serve", lambda settings, host, port: calls.append((settings, host, port)))
    monkeypatch.delenv("TENANCY_PORTAL_SECRET", raising=False)
    return calls


def test_the_portal_starts_with_its_sources(repo, identities, served, tmp_path, monkeypatch):
    auth = tmp_path / "auth.yaml"
    auth.write_text(yaml.safe_dump(identities.auth()))
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    result = tenancy("portal", "--port", "8099", "--auth", str(auth), "--repo", str(repo), "--github-repo", "acme/registry",
                     "--environment", "dev", "--aws", "--audit-json", str(tmp_path / "audit.json"), cwd=repo)
    assert result.returncode == 0, result.stderr
    [(settings, host, port)] = served
    assert (host, port) == ("127.0.0.1", 8099)
    assert settings.sources.environment == "dev" and settings.sources.aws
    assert settings.proposer.base_branch() == "main" and settings.proposer.registry_path == "tenants"
    assert settings.proposer.github.repository == "acme/registry" and settings.proposer.github.token == "t0ken"
    assert settings.auth.platform.group == "platform-admins" and settings.auth.tenant_admin_group == "tenant-admins"


@pytest.mark.parametrize("auth, extra, env, message", [
    (None, [], {}, "cannot read"),
    ({"platform": {"issuer": "https://x"}}, [], {}, "platform: needs issuer, jwksUrl and audience"),
    ({"tenant": {}}, [], {}, "unknown keys tenant"),
    ({}, ["--github-repo", "acme/registry"], {}, "needs a token in TENANCY_PORTAL_GITHUB_TOKEN or GITHUB_TOKEN"),
    ({}, [], {"TENANCY_PORTAL_SECRET": "short"}, "TENANCY_PORTAL_SECRET must be at least 32 characters"),
])
def test_what_stops_it(repo, served, tmp_path, monkeypatch, auth, extra, env, message):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("TENANCY_PORTAL_GITHUB_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "auth.json"
    if auth is not None:
        path.write_text(json.dumps(auth))
    result = tenancy("portal", "--auth", str(path), "--repo", str(repo), *extra, cwd=repo)
    assert result.returncode == 2 and message in result.stderr and not served


def test_an_invalid_registry_stops_it(repo, served, tmp_path):
    (repo / "tenants" / "acme.yaml").write_text("id: acme\n")
    path = tmp_path / "auth.json"
    path.write_text("{}")
    result = tenancy("portal", "--auth", str(path), cwd=repo)
    assert result.returncode == 1 and "acme.yaml" in result.stderr and not served
