"""The policy pack as the CLI would load it, and whole-program runs on the tests' fixture project
(tests/fixtures/sample): the plain program, and the variants program (the same wiring plus one
deliberate break). Whole-program runs cost seconds each; the rules themselves are unit-tested on
in-memory stacks (resources.py, world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.plan.harness import Recording, run_program
from tenancy.plan.policy_runner import PolicyReport, check, load_pack, read_pack_config
from tenancy.registry.project import config_from_stack_file

from ..conftest import PROJECT, ROOT

HERE = Path(__file__).resolve().parent
VARIANTS = HERE / "programs" / "variants"
WHOLE_PROGRAMS = "test_policy_pack.py"  # seconds per test; every other test here takes milliseconds


def pytest_collection_modifyitems(items):
    """Spread the whole-program tests evenly among this directory's unit tests (over the positions
    these tests already hold, leaving every other test where it is), so that pytest-xdist, which
    first hands each worker a run of consecutive tests, gives every worker its share of them."""
    positions = [i for i, item in enumerate(items) if HERE in item.path.parents]
    ours = [items[i] for i in positions]
    slow = [item for item in ours if item.path.name == WHOLE_PROGRAMS]
    fast = [item for item in ours if item.path.name != WHOLE_PROGRAMS]
    if not slow or not fast:
        return
    every = len(ours) / len(slow)
    slots = {round(k * every) for k in range(len(slow))}
    slow_left, fast_left = iter(slow), iter(fast)
    merged = [next(slow_left) if i in slots else next(fast_left) for i in range(len(ours))]
    for i, item in zip(positions, merged):
        items[i] = item


@pytest.fixture(scope="session")
def pack():
    return load_pack(ROOT / "policies")


def pack_config(stack: str) -> dict:
    return read_pack_config(ROOT / "policies" / "config" / f"{stack}.json")


def check_program(pack, stack: str, preview: bool = False) -> PolicyReport:
    """The fixture project's own plan of `stack`, judged with that stack's policy config."""
    return check(run_program(PROJECT, stack, preview=preview), pack, pack_config(stack), preview=preview)


def run_variant(variant: str, preview: bool = False) -> Recording:
    config = config_from_stack_file(PROJECT / "Pulumi.dev.yaml")
    config["test:variant"] = variant
    return run_program(VARIANTS, "dev", config, preview=preview)
