"""`InMemoryDriver`: the storage driver in one process's memory (see `driver` for the contract).

A whole registry without a disk, for tests of the layers above and for throw-away registries:
`Storage(driver=InMemoryDriver())`. Nothing survives the process; "durable" means "visible to
every later call". Directories are kept explicitly, so an emptied directory stays until pruned,
as on a filesystem.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from contextlib import contextmanager
from typing import BinaryIO, ContextManager, Iterable, Iterator

from registry.storage.driver import FileInfo

__all__ = ["InMemoryDriver"]


class _File:
    __slots__ = ("data", "mtime", "version")

    def __init__(self, data: bytes, version: int) -> None:
        self.data = bytearray(data)
        self.mtime = time.time()
        self.version = version


class _ReadWriteLock:
    """Any number of shared holders, or one exclusive holder."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive and not self._shared)
            self._exclusive = True
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


class InMemoryDriver:
    """Files and directories in dictionaries, behind one lock."""

    def __init__(self) -> None:
        self._files: dict[str, _File] = {}
        self._dirs: set[str] = {""}
        self._guard = threading.RLock()
        self._versions = itertools.count(1)
        self._locks: dict[str, _ReadWriteLock] = {}

    def stat(self, path: str) -> FileInfo | None:
        with self._guard:
            file = self._files.get(path)
            if file is not None:
                return FileInfo(len(file.data), file.mtime, False, file.version)
            if path in self._dirs:
                return FileInfo(0, 0.0, True, None)
        return None

    def exists(self, path: str) -> bool:
        with self._guard:
            return path in self._files or path in self._dirs

    def read(self, path: str) -> bytes:
        with self._guard:
            file = self._files.get(path)
            if file is None:
                raise FileNotFoundError(path)
            return bytes(file.data)

    def open(self, path: str) -> tuple[BinaryIO, int]:
        data = self.read(path)
        return io.BytesIO(data), len(data)

    def create(self, path: str, data: bytes = b"") -> bool:
        with self._guard:
            if path in self._files or path in self._dirs:
                return False
            self._write(path, data)
            return True

    def put(self, path: str, data: bytes) -> None:
        with self._guard:
            if path in self._dirs:
                raise IsADirectoryError(path)
            self._write(path, data)

    def put_new(self, path: str, data: bytes) -> bool:
        return self.create(path, data)

    def append(self, path: str, chunks: Iterable[bytes]) -> int:
        written = 0
        for chunk in chunks:
            with self._guard:
                file = self._files.get(path)
                if file is None:
                    raise FileNotFoundError(path)
                file.data += chunk
                file.mtime = time.time()
                file.version = next(self._versions)
            written += len(chunk)
        if not written:
            with self._guard:
                if path not in self._files:
                    raise FileNotFoundError(path)
        return written

    def move(self, src: str, dst: str) -> None:
        with self._guard:
            if src in self._files:
                if dst in self._dirs:
                    raise IsADirectoryError(dst)
                self._make_parents(dst)
                self._files[dst] = self._files.pop(src)
                return
            if src not in self._dirs or not src:
                raise FileNotFoundError(src)
            if dst in self._files or self._children(dst):
                raise OSError(f"{dst} exists")
            self._make_parents(dst)
            prefix = f"{src}/"
            for path in [p for p in self._files if p.startswith(prefix)]:
                self._files[dst + path[len(src):]] = self._files.pop(path)
            for path in [p for p in self._dirs if p == src or p.startswith(prefix)]:
                self._dirs.discard(path)
                self._dirs.add(dst + path[len(src):])

    def touch(self, path: str) -> bool:
        with self._guard:
            file = self._files.get(path)
            if file is None:
                return False
            file.mtime = time.time()
            file.version = next(self._versions)
            return True

    def delete(self, path: str) -> bool:
        with self._guard:
            return self._files.pop(path, None) is not None

    def prune(self, directory: str, stop: str) -> None:
        directory, stop = directory.rstrip("/"), stop.rstrip("/")
        with self._guard:
            while directory != stop and directory.startswith(f"{stop}/" if stop else ""):
                if directory not in self._dirs or self._children(directory):
                    return
                self._dirs.discard(directory)
                directory = directory.rpartition("/")[0]

    def delete_tree(self, path: str) -> None:
        prefix = f"{path}/"
        with self._guard:
            self._files.pop(path, None)
            for file in [p for p in self._files if p.startswith(prefix)]:
                del self._files[file]
            self._dirs -= {d for d in self._dirs if d == path or d.startswith(prefix)}
            self._dirs.add("")

    def list(self, directory: str) -> list[str]:
        with self._guard:
            if directory not in self._dirs:
                return []
            return sorted(self._children(directory))

    def shared_lock(self, path: str) -> ContextManager[None]:
        return self._lock(path).shared()

    def exclusive_lock(self, path: str) -> ContextManager[None]:
        return self._lock(path).exclusive()

    def leftovers(self, top: str, older_than: float) -> Iterator[str]:
        return iter(())  # every write here is whole: nothing is ever left half-made

    # -- internals (the caller holds the guard)

    def _lock(self, path: str) -> _ReadWriteLock:
        with self._guard:
            return self._locks.setdefault(path, _ReadWriteLock())

    def _write(self, path: str, data: bytes) -> None:
        self._make_parents(path)
        self._files[path] = _File(data, next(self._versions))

    def _make_parents(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        while parent and parent not in self._dirs:
            if parent in self._files:
                raise NotADirectoryError(parent)
            self._dirs.add(parent)
            parent = parent.rpartition("/")[0]

    def _children(self, directory: str) -> set[str]:
        prefix = f"{directory}/" if directory else ""
        return {p[len(prefix):].split("/", 1)[0] for p in (*self._files, *self._dirs)
                if p and p != directory and p.startswith(prefix)}
