"""A free TCP port on loopback, for the servers the benchmarks and the tests start themselves (moto,
PostgreSQL, Redis). It lives here, not under tests/, because the benchmarks must not import tests."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (the caller binds it next; a race is possible but rare)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
