"""Passwords and the admin DSN from Secrets Manager (moto), or from the environment."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tenancy.dataplane.credentials import (
    CredentialError,
    dsn_from_secret,
    env_name,
    from_environment,
    from_stack_secrets,
    platform_database,
)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


def test_passwords_come_from_the_tenant_secrets_named_in_the_stack_outputs(aws, tmp_path):
    arn = aws.create_secret(Name="dev-acme", SecretString=json.dumps({"username": "tenant_acme", "password": "s3cret"}))["ARN"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"tenants": {"acme": {"databaseSecretArn": arn}, "other": {}}}))
    assert from_stack_secrets(outputs, ["acme", "other", "missing"]) == {"acme": "s3cret"}


def test_an_unreadable_secret_names_the_tenant_and_not_the_value(aws, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"tenants": {"acme": {"databaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope"}}}))
    with pytest.raises(CredentialError, match="tenant acme: cannot read its password"):
        from_stack_secrets(outputs, ["acme"])


def test_the_admin_dsn_is_built_from_the_master_secret_with_tls(aws):
    value = {"engine": "postgres", "host": "db.example", "port": 5432, "username": "tenancy_admin",
             "password": "p w'd", "dbname": "tenants"}
    arn = aws.create_secret(Name="master", SecretString=json.dumps(value))["ARN"]
    from psycopg.conninfo import conninfo_to_dict
    parsed = conninfo_to_dict(dsn_from_secret(arn))
    assert parsed == {"host": "db.example", "port": "5432", "user": "tenancy_admin", "password": "p w'd",
                      "dbname": "tenants", "sslmode": "require"}


def test_environment_names_and_lookup(monkeypatch):
    assert env_name("db", "big-corp") == "TENANCY_DB_PASSWORD_BIG_CORP"
    monkeypatch.setenv("TENANCY_CACHE_PASSWORD_ACME", "x")
    assert from_environment("cache", ["acme", "other"]) == {"acme": "x"}


def test_an_rds_managed_master_secret_takes_its_address_from_the_platform_outputs(aws, tmp_path):
    # RDS keeps only the username and password in the secret it manages (and rotates)
    arn = aws.create_secret(Name="rds!db-1234", SecretString=json.dumps({"username": "tenancy_admin",
                                                                          "password": "rotated"}))["ARN"]
    with pytest.raises(CredentialError, match="holds no host, port, dbname .*--platform-outputs"):
        dsn_from_secret(arn)
    outputs = tmp_path / "platform.json"
    outputs.write_text(json.dumps({"platform": {"poolDatabase": {"secretArn": arn, "address": "pool.db.example",
                                                                 "port": 5432.0}}}))
    where = platform_database(outputs)
    from psycopg.conninfo import conninfo_to_dict
    parsed = conninfo_to_dict(dsn_from_secret(where["arn"], where["host"], where["port"], "tenants"))
    assert parsed == {"host": "pool.db.example", "port": "5432", "user": "tenancy_admin", "password": "rotated",
                      "dbname": "tenants", "sslmode": "require"}


def test_platform_outputs_that_are_not_the_platforms_say_so(tmp_path):
    outputs = tmp_path / "pool.json"
    outputs.write_text(json.dumps({"tenants": {}}))
    with pytest.raises(CredentialError, match="not the platform stack's outputs"):
        platform_database(outputs)
