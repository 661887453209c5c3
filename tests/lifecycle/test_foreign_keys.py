"""Moving a cache of its own into the pool first counts the keys outside the tenant's prefix (they
would be lost to it there). The count must be exact while the tenant keeps writing: the size of the
database minus the tenant's keys once read -1 under a writer and stopped a healthy move."""

from __future__ import annotations

import threading

import redis

from tenancy.lifecycle.rediscopy import foreign_key_count


def test_the_count_is_exact_while_the_tenant_writes(redis_instance):
    server = redis_instance("foreign-keys")
    client = redis.Redis.from_url(server.url())
    client.flushall()
    client.mset({f"rho:{i}": i for i in range(2000)})
    stop = threading.Event()

    def writer():
        writes = redis.Redis.from_url(server.url())
        n = 0
        while not stop.is_set():
            writes.set(f"rho:new:{n}", n)
            writes.delete(f"rho:{n % 2000}")
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        counts = [foreign_key_count(client, b"rho:") for _ in range(20)]
    finally:
        stop.set()
        thread.join()
    assert counts == [0] * 20
    client.set("other:1", "x")
    client.set("rhoe", "x")  # a key that shares the letters, not the prefix
    assert foreign_key_count(client, b"rho:") == 2
    client.flushall()
