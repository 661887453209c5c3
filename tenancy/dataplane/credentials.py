"""Tenant passwords for the data-plane commands: from each tenant's Secrets Manager secret (named in
the stack outputs), or, for tests and local runs, from the environment. Never printed or logged."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tenancy.exits import CommandError


class CredentialError(CommandError):
    """A password or secret cannot be found or read: exit 2."""


def env_name(kind: str, tenant_id: str) -> str:
    """TENANCY_DB_PASSWORD_ACME, TENANCY_CACHE_PASSWORD_BIG_CORP."""
    return f"TENANCY_{kind.upper()}_PASSWORD_{tenant_id.upper().replace('-', '_')}"


def from_environment(kind: str, tenant_ids: Iterable[str]) -> dict[str, str]:
    return {t: os.environ[env_name(kind, t)] for t in tenant_ids if os.environ.get(env_name(kind, t))}


def from_stack_secrets(outputs_file: Path, tenant_ids: Iterable[str], output_key: str = "databaseSecretArn",
                       session: Any = None) -> dict[str, str]:
    """Passwords from the secrets whose ARNs `pulumi stack output --json --show-secrets` lists;
    `session`: the boto3 session of the cell's account (default: the caller's)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        outputs = json.loads(Path(outputs_file).read_text())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"{outputs_file}: cannot read the stack outputs ({exc})") from None
    tenants = outputs.get("tenants") or {}
    client = (session or boto3).client("secretsmanager")
    out = {}
    for tenant_id in tenant_ids:
        arn = (tenants.get(tenant_id) or {}).get(output_key)
        if not arn:
            continue
        try:
            value = client.get_secret_value(SecretId=arn)["SecretString"]
            out[tenant_id] = json.loads(value)["password"]
        except (ClientError, BotoCoreError, KeyError, ValueError) as exc:
            raise CredentialError(f"tenant {tenant_id}: cannot read its password from {arn} "
                                  f"({type(exc).__name__})") from None
    return out


def dsn_from_secret(arn: str, host: str | None = None, port: int | str | None = None,
                    dbname: str | None = None, session: Any = None) -> str:
    """A libpq connection string from a database secret, with TLS required. An RDS-managed master
    secret holds only the username and password: host, port and database come from the arguments
    (the platform's stack outputs); a secret that holds them too wins. `session`: the boto3 session
    of the cell's account (default: the caller's)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from psycopg.conninfo import make_conninfo

    try:
        value = json.loads((session or boto3).client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        user, secret = value["username"], value["password"]
    except (ClientError, BotoCoreError, KeyError, ValueError) as exc:
        raise CredentialError(f"cannot read the database credentials from {arn} ({type(exc).__name__})") from None
    where = {"host": value.get("host") or host, "port": value.get("port") or port, "dbname": value.get("dbname") or dbname}
    missing = [k for k, v in where.items() if not v]
    if missing:
        raise CredentialError(f"{arn} holds no {', '.join(missing)} (an RDS-managed master secret): pass "
                              "--platform-outputs with the platform stack's outputs")
    return make_conninfo(host=where["host"], port=str(int(float(where["port"]))), user=user, password=secret,
                         dbname=where["dbname"], sslmode="require")


def platform_database(path: Path) -> dict:
    """The pooled database's secret, address and port from `pulumi stack output --json` of the
    platform stack (or of an `all` stack)."""
    try:
        outputs = json.loads(Path(path).read_text())
        pool = outputs["platform"]["poolDatabase"]
        return {"arn": pool["secretArn"], "host": pool["address"], "port": pool["port"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"{path}: not the platform stack's outputs (platform.poolDatabase: "
                              f"secretArn, address, port) ({type(exc).__name__})") from None
