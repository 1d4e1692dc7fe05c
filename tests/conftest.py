"""Fixtures that start the real services: a throw-away etcd and the local dockerd."""

from __future__ import annotations

import pytest

from skiffharness.processes import EtcdProcess, ensure_dockerd


@pytest.fixture(scope="session")
def etcd_endpoint(tmp_path_factory) -> str:
    """host:port of a throw-away single-member etcd on loopback (one per test session)."""
    base = tmp_path_factory.mktemp("etcd")
    etcd = EtcdProcess(base / "data", log_path=base / "etcd.log").start()
    yield etcd.endpoint
    etcd.stop()


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Make sure a Docker engine answers on the default socket (starts dockerd as root)."""
    ensure_dockerd()
