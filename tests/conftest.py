"""Fixtures that start the real services: a throw-away etcd and the local dockerd."""

from __future__ import annotations

import shutil

import pytest

from skiffharness.processes import EtcdProcess, ensure_dockerd
from tests.integration.harness import controlplane_state


@pytest.fixture(scope="session")
def etcd_endpoint(tmp_path_factory) -> str:
    """host:port of a throw-away single-member etcd on loopback (one per test session)."""
    base = tmp_path_factory.mktemp("etcd")
    etcd = EtcdProcess(base / "data", log_path=base / "etcd.log").start()
    # A new etcd holds no CA yet: the control planes' shared state dir starts afresh too.
    shutil.rmtree(controlplane_state(etcd.endpoint), ignore_errors=True)
    yield etcd.endpoint
    etcd.stop()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Make sure a Docker engine answers on the default socket (starts dockerd as root)."""
    ensure_dockerd()
