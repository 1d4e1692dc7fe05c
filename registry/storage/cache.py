"""Caches of what storage reads often: small parsed files (re-validated by version) and
content-addressed bytes (never stale)."""

from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from registry.storage.driver import FileInfo, StorageDriver

__all__ = ["ContentCache", "StatCache"]

T = TypeVar("T")


class StatCache:
    """Values derived from small files, re-read only when the file changed.

    Every `get` stats the file: the driver's `version` of it must match what was seen when the
    value was loaded. All our writes of cached files replace them whole (on the filesystem: a
    fresh inode), so a change made by another process is noticed; writes made by this process
    also `forget` the path at once. (Only files written once, or rewritten by the server alone,
    are cached this way: a file rewritten twice by another process within one timestamp tick
    could reuse a freed inode.)
    """

    def __init__(self, driver: StorageDriver, max_entries: int = 8192) -> None:
        self._driver = driver
        self._entries: dict[str, tuple[Hashable, Any]] = {}
        self._max = max_entries

    def get(self, path: str, load: Callable[[bytes, FileInfo], T]) -> T:
        """`load(bytes of path, its info)`, or the value loaded before if the file did not
        change since. Raises FileNotFoundError when the file does not exist."""
        info = self._driver.stat(path)
        if info is None or info.is_dir:
            raise FileNotFoundError(path)
        entry = self._entries.get(path)
        if entry is not None and entry[0] == info.version:
            return entry[1]
        value = load(self._driver.read(path), info)
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[path] = (info.version, value)
        return value

    def forget(self, path: str) -> None:
        """Drop what is cached for `path` (this process is about to change it)."""
        self._entries.pop(path, None)


class ContentCache:
    """Bytes by a content-addressed key, so never stale; emptied when over `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: dict[Hashable, bytes] = {}
        self._size = 0
        self._max = max_bytes

    def get(self, key: Hashable, load: Callable[[], bytes]) -> bytes:
        """The bytes cached under `key`, or `load()`'s, remembered."""
        data = self._entries.get(key)
        if data is None:
            data = load()
            if self._size + len(data) > self._max:
                self._entries.clear()
                self._size = 0
            self._entries[key] = data
            self._size += len(data)
        return data
