"""The state file of a resumable lifecycle operation (a move, an offboarding): JSON, rewritten
atomically after every step (a temporary file in the same directory, fsync, rename), and locked
while a run holds it, so a second run of the same operation waits for nothing and is refused.

It never holds a password: connection details are given again on every run, and the file records
only where they pointed (without passwords), so a resumed run against other servers is refused."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

from tenancy.exits import CommandError

STATE_VERSION = 1
STATE_ROOT = Path(".tenancy")


class StateError(CommandError):
    """The state file cannot be read, written or locked: exit 2."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_path(kind: str, environment: str, tenant_id: str, root: Path = STATE_ROOT) -> Path:
    """`.tenancy/moves/dev-acme.json`, `.tenancy/offboarding/dev-acme.json`."""
    return Path(root) / kind / f"{environment}-{tenant_id}.json"


class StateFile:
    """One operation's record: `data` is plain JSON; `save()` after every change that matters."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = data
        self._lock: Optional[int] = None

    # -- reading and writing ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Optional[StateFile]:
        path = Path(path)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StateError(f"{path}: not a readable state file ({exc}); move it away to start over") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StateError(f"{path}: state file of another version ({data.get('version') if isinstance(data, dict) else '?'}"
                             f", this tool writes {STATE_VERSION})")
        return cls(path, data)

    @classmethod
    def new(cls, path: Path, **fields: Any) -> StateFile:
        return cls(path, {"version": STATE_VERSION, "created": now(), "steps": {}, **fields})

    def save(self) -> None:
        """Atomic: a reader (or a crash) sees the old file or the new one, never half of one."""
        self.data["updated"] = now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StateError(f"{self.path}: cannot write the state file ({exc})") from None

    # -- one run at a time --------------------------------------------------------------------------
    def lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(f"{self.path}: another run holds this operation (lock {lock_path})") from None
        self._lock = fd

    def unlock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    # -- steps --------------------------------------------------------------------------------------
    def done(self, step: str) -> bool:
        return (self.data["steps"].get(step) or {}).get("status") == "done"

    def step(self, step: str) -> dict[str, Any]:
        return self.data["steps"].setdefault(step, {})

    def mark_done(self, step: str, **details: Any) -> None:
        record = self.step(step)
        record.update(details)
        record.update(status="done", at=now())
        record.pop("error", None)
        self.save()

    def mark_failed(self, step: str, error: str) -> None:
        record = self.step(step)
        record.update(status="failed", at=now(), error=error)
        self.save()
