"""The lock between reference writers and garbage collection."""

from __future__ import annotations

from typing import ContextManager

from registry.storage import paths
from registry.storage.driver import StorageDriver

__all__ = ["GCLock"]


class GCLock:
    """A reader/writer lock over one store (the driver's lock on `.gc.lock`).

    Whatever makes a blob referenced (a blob commit or mount, a manifest put) holds it shared;
    garbage collection's final mark and sweep hold it exclusive, so a blob is never deleted
    between "checked it exists" and "made a manifest point at it".
    """

    def __init__(self, driver: StorageDriver) -> None:
        self._driver = driver

    def shared(self) -> ContextManager[None]:
        """Held while making content referenced."""
        return self._driver.shared_lock(paths.GC_LOCK)

    def exclusive(self) -> ContextManager[None]:
        """Held by garbage collection while it decides and deletes."""
        return self._driver.exclusive_lock(paths.GC_LOCK)
