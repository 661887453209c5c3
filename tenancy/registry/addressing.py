"""Subnet carving: every subnet is cut from an explicit block by a fixed rule, so addresses never move.

A block is split into equal subnets, role by role and zone by zone. Only the block itself and the
zone count decide the result; adding or removing another tenant cannot change it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Network

VPC_ROLES = ("public", "app", "data")  # a whole VPC: the shared one, or an isolated tenant's
SLICE_ROLES = ("app", "data")  # a dedicated tenant's slice of the shared VPC
SMALLEST_SUBNET_PREFIX = 26  # 64 addresses, 59 usable after AWS keeps its five

PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def _bits_for(count: int) -> int:
    return (count - 1).bit_length()


def largest_prefix_for(roles: tuple[str, ...], az_count: int) -> int:
    """The smallest block (largest prefix length) that holds these subnets at the minimum size."""
    return SMALLEST_SUBNET_PREFIX - _bits_for(len(roles) * az_count)


def carve(block: IPv4Network, roles: tuple[str, ...], az_count: int) -> dict[str, list[IPv4Network]]:
    """Split `block` into one subnet per role and zone: {'app': [az0, az1], 'data': [...]}."""
    prefix = block.prefixlen + _bits_for(len(roles) * az_count)
    if prefix > SMALLEST_SUBNET_PREFIX:
        raise ValueError(
            f"{block} is too small for {len(roles) * az_count} subnets "
            f"({az_count} zones x {', '.join(roles)}) of at least /{SMALLEST_SUBNET_PREFIX}; "
            f"use /{largest_prefix_for(roles, az_count)} or larger"
        )
    subnets = list(block.subnets(new_prefix=prefix))
    return {role: subnets[i * az_count:(i + 1) * az_count] for i, role in enumerate(roles)}


def is_private(block: IPv4Network) -> bool:
    return any(block.subnet_of(r) for r in PRIVATE_RANGES)


@dataclass(frozen=True)
class SubnetLayout:
    """The subnets cut from one block, as CIDR strings per role and zone (empty for a role the
    block does not have: a dedicated slice has no public subnets)."""

    block: str
    public: tuple[str, ...] = ()
    app: tuple[str, ...] = ()
    data: tuple[str, ...] = ()

    @property
    def zones(self) -> int:
        return len(self.data)


@cache
def subnet_layout(block: str, roles: tuple[str, ...], az_count: int) -> SubnetLayout:
    """`carve` as a named, hashable value, computed once per block and zone count."""
    carved = carve(IPv4Network(block), roles, az_count)
    return SubnetLayout(block, **{role: tuple(str(c) for c in cidrs) for role, cidrs in carved.items()})
