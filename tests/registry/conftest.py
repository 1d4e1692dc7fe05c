"""Fixtures for the registry tests: a registry on a free loopback port and a client for it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from registry.server import RegistryServer
from tests.registry.helpers import Client


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path / "registry", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def http(registry: RegistryServer) -> Iterator[Client]:
    client = Client(registry.port)
    yield client
    client.close()
