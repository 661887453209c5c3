"""Where a tenant's applications connect: its connection secrets, and the connection strings the
lifecycle commands take from stack outputs.

The cut-over of a move is one write per moved service: the tenant's database secret gets the new
endpoint's host, port, database and login (the shape of the pooled login secret: engine, host,
port, username, password, dbname), its cache secret the new host, port and database index (the
cache user and its credentials stay). The writer is abstract; production writes Secrets Manager.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Protocol
from urllib.parse import urlsplit

from tenancy.dataplane.credentials import CredentialError, dsn_from_secret

OWN_DATABASE = "app"  # the database an own instance is created with (components.database.DatabaseArgs.db_name)


def aws_client(service: str, region: Optional[str] = None):
    """A boto3 client, or a CredentialError (exit 2) that says what is missing, never a traceback."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client(service, region_name=region)
    except BotoCoreError as exc:
        raise CredentialError(f"cannot reach AWS {service}: {exc} (set AWS_REGION and credentials)") from None


class SecretWriter(Protocol):
    def read(self, secret_id: str) -> Optional[dict[str, Any]]: ...

    def write(self, secret_id: str, value: dict[str, Any]) -> str: ...


class SecretsManagerWriter:
    """AWS Secrets Manager: a new version of the secret (created when missing, encrypted with the
    tenant's key when given). Honours AWS_ENDPOINT_URL like every boto3 client."""

    def __init__(self, client=None, kms_key_id: Optional[str] = None, tags: Optional[dict[str, str]] = None):
        self.client = client or aws_client("secretsmanager")
        self.kms_key_id = kms_key_id
        self.tags = tags or {}

    def read(self, secret_id: str) -> Optional[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return json.loads(self.client.get_secret_value(SecretId=secret_id)["SecretString"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise CredentialError(f"cannot read secret {secret_id} ({exc.response['Error'].get('Code')})") from None
        except (BotoCoreError, ValueError, KeyError) as exc:
            raise CredentialError(f"cannot read secret {secret_id} ({type(exc).__name__})") from None

    def write(self, secret_id: str, value: dict[str, Any]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        text = json.dumps(value, sort_keys=True)
        try:
            try:
                return self.client.put_secret_value(SecretId=secret_id, SecretString=text)["VersionId"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
            extra: dict[str, Any] = {"KmsKeyId": self.kms_key_id} if self.kms_key_id else {}
            if self.tags:
                extra["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
            return self.client.create_secret(Name=secret_id, SecretString=text, **extra)["VersionId"]
        except ClientError as exc:
            raise CredentialError(f"cannot write secret {secret_id} ({exc.response['Error'].get('Code')})") from None
        except BotoCoreError as exc:
            raise CredentialError(f"cannot write secret {secret_id} ({type(exc).__name__})") from None


def default_secret_id(environment: str, tenant_id: str, service: str) -> str:
    """`tenancy/dev/acme/database`, `tenancy/dev/acme/cache`: the secrets a tenant's applications read."""
    return f"tenancy/{environment}/{tenant_id}/{service}"


def database_secret_value(dsn: str, previous: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The login the move copied with, as the application's secret. A DSN without a password (one
    from PGPASSWORD or .pgpass) keeps the previous password of the same user."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    previous = previous or {}
    value = {"engine": "postgres", "host": parts.get("host") or parts.get("hostaddr"), "port": int(parts.get("port") or 5432),
             "username": parts.get("user"), "dbname": parts.get("dbname")}
    password = parts.get("password")
    if password is None and previous.get("username") == value["username"]:
        password = previous.get("password")
    if password is not None:
        value["password"] = password
    return {**{k: v for k, v in previous.items() if k not in value and k != "password"}, **value}


def cache_secret_value(url: str, previous: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The new cache's host, port and database index; the tenant user's name and credentials stay
    (the URL given is an admin's, never written)."""
    parts = urlsplit(url)
    value = dict(previous or {})
    value.update(host=parts.hostname, port=parts.port or 6379, db=int((parts.path or "/0").lstrip("/") or 0),
                 tls=parts.scheme == "rediss")
    return value


# -- connection strings from stack outputs ----------------------------------------------------------

def _outputs(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"{path}: cannot read the stack outputs ({exc})") from None


def tenant_dsn_from_outputs(path: Path, tenant_id: str) -> str:
    """The tenant's database login from `pulumi stack output --json` of the stack that holds it:
    its `databaseSecretArn` (the pooled login's secret holds host, port and database; an own
    instance's master secret only the login, so the address comes from `databaseEndpoint`)."""
    tenant = (_outputs(path).get("tenants") or {}).get(tenant_id) or {}
    arn = tenant.get("databaseSecretArn")
    if not arn:
        raise CredentialError(f"{path}: no tenants.{tenant_id}.databaseSecretArn (the outputs of the stack that "
                              "holds the tenant)")
    host, _, port = (tenant.get("databaseEndpoint") or "").rpartition(":")
    return dsn_from_secret(arn, host or None, port or None, OWN_DATABASE)
