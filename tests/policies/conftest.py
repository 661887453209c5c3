"""The policy pack as the CLI would load it, and runs of the variants program."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.plan.harness import Recording, run_program
from tenancy.plan.policy_runner import PolicyReport, check, load_pack, read_pack_config
from tenancy.registry.project import config_from_stack_file

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = Path(__file__).resolve().parent / "programs" / "variants"


@pytest.fixture(scope="session")
def pack():
    return load_pack(ROOT / "policies")


def pack_config(stack: str) -> dict:
    return read_pack_config(ROOT / "policies" / "config" / f"{stack}.json")


def run_variant(variant: str, preview: bool = False) -> Recording:
    config = config_from_stack_file(ROOT / "Pulumi.dev.yaml")
    config["test:variant"] = variant
    return run_program(VARIANTS, "dev", config, preview=preview)


def check_variant(pack, variant: str, preview: bool = False) -> PolicyReport:
    return check(run_variant(variant, preview), pack, pack_config("dev"), preview=preview)
