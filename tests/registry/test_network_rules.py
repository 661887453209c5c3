"""The cross-tenant overlap check sweeps sorted blocks instead of comparing every pair; it must find
exactly the pairs the all-pairs comparison finds, however the blocks nest, repeat or touch."""

from __future__ import annotations

import ipaddress
import random
from itertools import combinations

import pytest

from tenancy.registry.network_rules import overlapping_pairs


def all_pairs(blocks):
    return [(i, j) for i, j in combinations(range(len(blocks)), 2) if blocks[i].overlaps(blocks[j])]


def random_blocks(seed: int, count: int) -> list[ipaddress.IPv4Network]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        prefix = rng.choice([8, 12, 16, 20, 22, 24, 24, 24, 26, 28, 32])
        address = (10 << 24) | rng.getrandbits(24)  # all inside 10.0.0.0/8, so many nest
        out.append(ipaddress.ip_network((address, prefix), strict=False))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_the_sweep_finds_exactly_the_overlapping_pairs(seed):
    blocks = random_blocks(seed, 60)
    assert overlapping_pairs(blocks) == all_pairs(blocks)


@pytest.mark.parametrize("blocks", [
    ["10.0.0.0/24", "10.0.0.0/24"],  # the same block twice
    ["10.0.1.0/24", "10.0.0.0/16", "10.0.2.0/24", "10.0.2.128/25"],  # nested three deep, given out of order
    ["10.0.0.0/25", "10.0.0.128/25"],  # touching, not overlapping
    ["10.0.0.255/32", "10.0.0.0/24", "10.0.1.0/32"],  # the last address of a block, and the next one
    ["0.0.0.0/0", "192.168.0.0/16", "10.0.0.0/8"],
])
def test_edge_shapes(blocks):
    nets = [ipaddress.ip_network(b) for b in blocks]
    assert overlapping_pairs(nets) == all_pairs(nets)
