"""Shared fixtures: the repository's paths, and the tests' own project (`tests/fixtures/sample`: a
registry and stack files of their own), so a user who edits the sample in `tenants/` breaks nothing
but the test that says the sample is valid."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "fixtures" / "sample"  # a Pulumi project running the real program's wiring
REGISTRY = PROJECT / "tenants"


@pytest.fixture(scope="session")
def dev_plan():
    """The fixture project's dev stack under the offline harness (`run_program(PROJECT, "dev")`), run
    once per test process for every test that only reads it. A test that changes a recording, the
    project or the harness runs its own."""
    from tenancy.plan.harness import run_program

    return run_program(PROJECT, "dev")


@pytest.fixture(scope="session")
def prod_plan():
    """The fixture project's prod stack, as `dev_plan`."""
    from tenancy.plan.harness import run_program

    return run_program(PROJECT, "prod")


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """A copy of the fixture registry that a test may break."""
    target = tmp_path / "tenants"
    shutil.copytree(REGISTRY, target)
    return target


AWS_REGION = "eu-west-1"


class _PrivateKeyOnFirstUse:
    """moto's private key of a KMS key, made when first read. moto makes an RSA key for every KMS key it
    creates, symmetric ones included (~0.1 s of CPU each, six per audited account); only Sign, Verify
    and GetPublicKey read it, and they get the same kind of key, made then."""

    def __init__(self, make, key_spec: str):
        self._make, self._key_spec, self._key, self._lock = make, key_spec, None, threading.Lock()

    def __getattr__(self, name: str):
        with self._lock:
            if self._key is None:
                self._key = self._make(self._key_spec)
        return getattr(self._key, name)


@functools.cache
def _moto_for_tests() -> None:
    """What no test reads, left out of the moto servers started in this process (each a server's
    cost, not a behaviour): EC2's ~9,000 default AMIs, loaded into every region at its start and at
    every reset (moto's own setting; a third of a second a region), and the private keys of KMS keys
    until something signs, verifies or asks for a public key."""
    import moto.kms.models

    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    make = moto.kms.models.generate_private_key
    moto.kms.models.generate_private_key = lambda key_spec: _PrivateKeyOnFirstUse(make, key_spec)


@contextlib.contextmanager
def moto_server():
    """A moto server on loopback (benchmarks' own), in this process, for the duration of the block."""
    from benchmarks.aws_account import moto_server as server

    _moto_for_tests()
    with server() as endpoint:
        yield endpoint


@functools.cache
def _botocore_loader():
    import botocore.loaders

    return botocore.loaders.create_loader()


def boto3_session(region_name: str = AWS_REGION):
    """A new boto3 session (its own credentials, configuration and clients), reading botocore's service
    models through one loader per process: a new session's own loader parses the same JSON models
    again (~0.4 s for the seven services an account uses)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    loader = _botocore_loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, region_name=region_name)
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 appends its data path per session
    return session


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server per test process, for every suite that calls AWS through boto3."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch) -> dict:
    """A clean moto account for this test, and the environment every boto3 client reads."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": AWS_REGION, "AWS_DEFAULT_REGION": AWS_REGION}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
