"""Acceptance, in a real headless browser (Debian's chromium through Selenium) against the portal on
loopback: tenant A's admin sees A and cannot reach B; a quota within the plan's ceiling becomes a
commit on a new branch whose tenant file validates; one above it shows the registry's error on the
form and writes nothing; a platform admin sees every tenant. One browser for the module."""

from __future__ import annotations

import subprocess

import pytest

from tenancy.registry.project import validate_project

from . import browser
from .conftest import LiveServer, branches, git, make_repo, portal_app

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=browser.missing() or "")


@pytest.fixture(scope="module")
def world(tmp_path_factory, identities):
    repo = make_repo(tmp_path_factory.mktemp("browser") / "repo")
    server = LiveServer(portal_app(repo, identities))
    driver = browser.chrome()
    yield repo, server.url, driver
    driver.quit()
    server.stop()


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def set_quota(driver, key: str, value: str) -> None:
    field = by_id(driver, f"quotas.{key}")
    field.clear()
    field.send_keys(value)
    browser.submit(driver, by_id(driver, "propose-quotas"))


def test_a_tenant_admin_sees_its_tenant_and_cannot_reach_another(world, identities):
    repo, url, driver = world
    browser.sign_in(driver, url, identities.tenant_admin("brightside"))
    assert driver.current_url == f"{url}/tenants/brightside"
    assert "Brightside Bakery" in by_id(driver, "tenant-title").text
    assert by_id(driver, "who").text == "admin@brightside.example"
    driver.get(f"{url}/tenants/acme")
    assert "404" in driver.title and "no such tenant" in by_id(driver, "error").text
    assert "Acme" not in driver.page_source
    driver.get(f"{url}/")
    assert driver.current_url == f"{url}/tenants/brightside"


def test_a_quota_within_the_ceiling_becomes_a_commit_on_a_new_branch(world, identities, tmp_path):
    repo, url, driver = world
    browser.sign_in(driver, url, identities.tenant_admin("brightside"))
    set_quota(driver, "maxUsers", "45")  # starter: default 25, ceiling 50
    flash = by_id(driver, "flash-1").text
    assert flash.startswith("Proposed: quotas: maxUsers the plan's default -> 45, on branch portal/brightside/quotas-")
    [branch] = [b for b in branches(repo) if b != "main"]
    assert branch in flash and git(repo, "rev-list", "--count", f"main..{branch}") == "1"
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", "--branch", branch, str(repo), str(checkout)], check=True)
    assert validate_project(checkout).get("brightside").quotas.max_users == 45
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main" and git(repo, "status", "--porcelain") == ""


def test_above_the_ceiling_the_form_shows_the_registry_error_and_nothing_is_written(world, identities):
    repo, url, driver = world
    browser.sign_in(driver, url, identities.tenant_admin("brightside"))
    before = branches(repo)
    set_quota(driver, "maxUsers", "400")
    errors = by_id(driver, "errors-quotas").text
    assert "Nothing was proposed" in errors
    assert ("tenants/brightside.yaml:7: brightside: quotas.maxUsers: 400 is above plan 'starter''s ceiling of 50"
            in errors)
    assert by_id(driver, "quotas.maxUsers").get_attribute("value") == "400"
    assert branches(repo) == before


def test_a_platform_admin_sees_every_tenant(world, identities):
    from selenium.webdriver.common.by import By

    repo, url, driver = world
    browser.sign_in(driver, url, identities.platform_admin())
    rows = driver.find_elements(By.CSS_SELECTOR, "#tenants tbody tr")
    assert [r.get_attribute("id") for r in rows] == [f"tenant-{t}" for t in
                                                     ("acme", "brightside", "globex", "initech", "northwind", "umbrella")]
    browser.submit(driver, driver.find_element(By.LINK_TEXT, "globex"))
    assert "Globex Corporation" in by_id(driver, "tenant-title").text
    assert by_id(driver, "status-change").is_displayed()
