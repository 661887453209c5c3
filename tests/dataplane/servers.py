"""Real PostgreSQL 15 and Redis servers on loopback, started and stopped by the tests themselves."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.ports import free_port

ADMIN, ADMIN_PASSWORD = "tenancy_admin", "admin-secret-pw"


def _pg_bin(name: str) -> str:
    for candidate in (shutil.which(name), *sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise RuntimeError(f"{name} not found: install PostgreSQL (the Makefile's test target does)")


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    directory: Path
    port: int

    def dsn(self, user: str = ADMIN, password: str = ADMIN_PASSWORD, database: str = "tenants") -> str:
        return f"host=127.0.0.1 port={self.port} dbname={database} user={user} password={password} connect_timeout=5"

    def superuser_dsn(self, database: str = "tenants") -> str:
        return f"host={self.directory} port={self.port} dbname={database} user=postgres"

    @classmethod
    def start(cls) -> Postgres:
        # Its own directory under /tmp: pytest's are private to root, and the server runs as postgres.
        directory = Path(tempfile.mkdtemp(prefix="tenancy-pg-"))
        directory.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        data = directory / "data"
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                                     "--auth-host=scram-sha-256", "-E", "UTF8"]), check=True, capture_output=True)
        port = free_port()
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w", "start",
                                     "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 "
                                           f"-c max_connections=200"]), check=True, capture_output=True)
        server = cls(directory, port)
        server.sql("postgres", f"CREATE ROLE {ADMIN} LOGIN CREATEROLE PASSWORD '{ADMIN_PASSWORD}'",
                   f"CREATE DATABASE tenants OWNER {ADMIN}")
        # As RDS's master user: it may create databases and, through rds_superuser, end other roles'
        # sessions; it is still no superuser (it owns nothing in pg_catalog).
        server.sql("postgres", f"ALTER ROLE {ADMIN} CREATEDB", f"GRANT pg_signal_backend TO {ADMIN}")
        return server

    def sql(self, database: str, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.superuser_dsn(database), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def stop(self) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate",
                                     "stop"]), capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Redis:
    port: int
    process: subprocess.Popen

    ADMIN, ADMIN_PASSWORD = "admin", "admin-redis-pw"

    def url(self, user: str | None = None, password: str | None = None) -> str:
        user, password = user or self.ADMIN, password or self.ADMIN_PASSWORD
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: install Debian's redis-server (the Makefile's test target does)")
        port = free_port()
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--protected-mode", "yes"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                client = redis.Redis(port=port)
                client.execute_command("ACL", "SETUSER", cls.ADMIN, "on", f">{cls.ADMIN_PASSWORD}", "~*", "&*", "+@all")
                client.close()
                return cls(port, process)
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    process.kill()
                    raise
                time.sleep(0.05)

    def reset(self) -> None:
        """Back to a server whose default user works, with only the admin user, and no keys."""
        import redis

        admin = redis.Redis.from_url(self.url(), decode_responses=True)
        for user in admin.acl_users():
            if user not in ("default", self.ADMIN):
                admin.acl_deluser(user)
        admin.execute_command("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
        admin.flushall()
        admin.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
