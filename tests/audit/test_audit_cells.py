"""Cells that live in other accounts: `audit --cell` reads the cell's own account (its role assumed,
its region), expects only that cell's tenants there, and refuses credentials for the wrong account
before reading anything. Against a moto server, whose accounts are separate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from benchmarks.aws_account import build
from tenancy.registry.loader import load_registry

from ..cells_fixture import EU2_DEDICATED, EU2_POOLED, cells_project

ENV = "prod"
REMOTE_ACCOUNT, REMOTE_REGION = "210987654321", "eu-central-1"  # eu2's, in tests/cells_fixture.py
ROLE = f"arn:aws:iam::{REMOTE_ACCOUNT}:role/tenancy-deploy"


@pytest.fixture
def project(tmp_path):
    project = cells_project(tmp_path)
    for tenant_id in EU2_DEDICATED:  # the account builder lays slices in the default cell's VPC only
        (project / "tenants" / f"{tenant_id}.yaml").unlink()
    return project


def remote_session(env) -> boto3.Session:
    credentials = boto3.client("sts", region_name=REMOTE_REGION).assume_role(
        RoleArn=ROLE, RoleSessionName="test")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REMOTE_REGION)


def tenancy(project, *args, env):
    return subprocess.run([sys.executable, "-m", "tenancy", *args], cwd=project, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **env})


def test_without_cell_an_audit_of_cells_in_different_accounts_is_refused(project, aws_env):
    result = tenancy(project, "audit", "--environment", ENV, env=aws_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "live in different accounts or regions" in result.stderr and "--cell" in result.stderr


def test_a_cells_audit_reads_its_own_account_and_expects_only_its_tenants(project, aws_env):
    registry = load_registry(project / "tenants")
    eu2 = registry.in_cell(ENV, "eu2")
    assert {t.id for t in eu2} == set(EU2_POOLED)
    remote = remote_session(aws_env)
    assert remote.client("sts").get_caller_identity()["Account"] == REMOTE_ACCOUNT
    build(remote, eu2, ENV)  # eu2's tenants exist in eu2's account only

    there = tenancy(project, "audit", "--environment", ENV, "--cell", "eu2", "--format", "json", env=aws_env)
    assert there.returncode == 0, there.stderr
    assert json.loads(there.stdout)["findings"] == []

    # the caller's own account holds none of it: the default cell's tenants are missing there, and
    # eu2's, expected elsewhere, are not
    here = tenancy(project, "audit", "--environment", ENV, "--cell", "default", "--format", "json", env=aws_env)
    missing = {f["tenant"] for f in json.loads(here.stdout)["findings"] if "missing" in f["problem"]}
    assert missing == {t.id for t in registry.in_cell(ENV, "default")}
    assert not missing & set(EU2_POOLED)


def test_credentials_for_another_account_stop_the_command_before_it_reads(project, aws_env):
    cells = project / "tenants" / "cells.yaml"
    cells.write_text(cells.read_text().replace(f', roleArn: "{ROLE}"', ""))  # an account, no role to assume
    result = tenancy(project, "audit", "--environment", ENV, "--cell", "eu2", env=aws_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"cell eu2 lives in account {REMOTE_ACCOUNT}, but these credentials are for 123456789012" in result.stderr


def test_an_unknown_cell_is_named(project, aws_env):
    result = tenancy(project, "audit", "--environment", ENV, "--cell", "nowhere", env=aws_env)
    assert result.returncode == 2 and "--cell nowhere: no such cell; cells: default, eu2" in result.stderr


def test_the_data_plane_commands_read_a_cells_secrets_in_its_account(project, aws_env):
    """db-check --cell eu2 --dsn-secret: the admin secret lives in eu2's account; the command reads it
    there (and then fails to connect to the address it holds, a closed loopback port)."""
    secret = {"username": "tenancy_admin", "password": "pw", "host": "127.0.0.1", "port": 1, "dbname": "tenants"}
    arn = remote_session(aws_env).client("secretsmanager").create_secret(
        Name="eu2-admin", SecretString=json.dumps(secret))["ARN"]
    result = tenancy(project, "db-check", "--environment", ENV, "--cell", "eu2", "--dsn-secret", arn, env=aws_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read the database credentials" not in result.stderr, result.stderr
    assert "127.0.0.1" in result.stderr or "connect" in result.stderr, result.stderr
    # the default cell's commands use the caller's account, where that secret does not exist
    here = tenancy(project, "db-check", "--environment", ENV, "--dsn-secret", arn, env=aws_env)
    assert here.returncode == 2 and "cannot read the database credentials" in here.stderr
