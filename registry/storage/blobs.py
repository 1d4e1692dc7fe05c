"""Layer 1: global content-addressed blobs under `blobs/`.

A blob enters only through `commit` (or `put_bytes` for manifests held in memory), which checks
size and digest first and then makes the bytes visible in one step (the driver's `move`, durable
before it is visible); nothing else writes under `blobs/`. So a blob that is visible is
complete and matches its name, whatever crashed when.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO, Callable, Iterator

from registry.errors import RegistryError
from registry.storage import paths
from registry.storage.driver import FileInfo, StorageDriver
from registry.storage.locks import GCLock
from registry.storage.names import ALGORITHMS, Digest
from registry.storage.records import BlobInfo

__all__ = ["BlobStore", "hash_file"]

_CHUNK = 1024 * 1024


class BlobStore:
    """Blobs by digest. A blob is visible only once verified and moved into place."""

    def __init__(self, driver: StorageDriver, lock: GCLock) -> None:
        self._driver = driver
        self._lock = lock

    def path(self, digest: Digest) -> str:
        """The driver path of blob `digest` (whether or not it exists)."""
        return paths.blob(digest)

    def stat(self, digest: Digest) -> BlobInfo | None:
        """The blob's info, or None when it is not stored."""
        info = self._driver.stat(paths.blob(digest))
        return None if info is None or info.is_dir else BlobInfo(digest, info.size)

    def open(self, digest: Digest) -> tuple[BinaryIO, BlobInfo]:
        """A reader of blob `digest` and its info; raise BLOB_UNKNOWN when it is not stored."""
        try:
            file, size = self._driver.open(paths.blob(digest))
        except FileNotFoundError:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)}) from None
        return file, BlobInfo(digest, size)

    def read(self, digest: Digest) -> bytes:
        """The whole blob (for manifests); raise BLOB_UNKNOWN when it is not stored."""
        try:
            return self._driver.read(paths.blob(digest))
        except FileNotFoundError:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)}) from None

    def commit(self, src: str, digest: Digest, *, expected_size: int | None = None,
               hexdigest: str | None = None, then: Callable[[], None] | None = None) -> BlobInfo:
        """Make the file at driver path `src` visible as blob `digest` after checking its size
        and digest.

        `hexdigest` is the digest of `src` computed while it was written (saves reading it again);
        when None, the file is hashed here. On SIZE_INVALID or DIGEST_INVALID nothing becomes
        visible and `src` is left to the caller. `then` runs under the same hold of the GC lock
        (it links the blob into a repository, so no collection can see the blob unreferenced in
        between).
        """
        info = self._driver.stat(src)
        if info is None:
            raise FileNotFoundError(src)
        size = info.size
        if expected_size is not None and size != expected_size:
            raise RegistryError("SIZE_INVALID", f"received {size} bytes, expected {expected_size}",
                                {"size": size, "expected": expected_size})
        if hexdigest is None:
            hexdigest = hash_file(self._driver, src, digest.algorithm)
        if hexdigest != digest.hex:
            raise RegistryError("DIGEST_INVALID",
                                f"content digest is {digest.algorithm}:{hexdigest}, not {digest}",
                                {"digest": str(digest)})
        with self._lock.shared():
            dest = paths.blob(digest)
            if self._driver.touch(dest):
                # Same digest, same bytes: keep the file readers may have open; the touch marks
                # it as freshly used so a concurrent garbage collection leaves it alone.
                self._driver.delete(src)
            else:
                self._driver.touch(src)  # its age counts from the commit (GC's grace period)
                self._driver.move(src, dest)
            if then is not None:
                then()
        return BlobInfo(digest, size)

    def put_bytes(self, data: bytes, digest: Digest) -> BlobInfo:
        """Store small content held in memory (manifests) as blob `digest`, verified.

        The caller holds the GC lock shared.
        """
        if Digest.of(data, digest.algorithm) != digest:
            raise RegistryError("DIGEST_INVALID", f"content does not match {digest}",
                                {"digest": str(digest)})
        dest = paths.blob(digest)
        if not self._driver.touch(dest):
            self._driver.put(dest, data)
        return BlobInfo(digest, len(data))

    def touch(self, digest: Digest) -> BlobInfo | None:
        """Mark an existing blob as freshly used (mounts); None when it is not stored.

        The caller holds the GC lock shared.
        """
        if not self._driver.touch(paths.blob(digest)):
            return None
        return self.stat(digest)

    def walk(self) -> Iterator[tuple[Digest, FileInfo]]:
        """Every stored blob: its digest and what `stat` says of it."""
        for algorithm in self._driver.list(paths.BLOBS):
            if algorithm not in ALGORITHMS:
                continue
            base = paths.blob_algorithm(algorithm)
            for prefix in self._driver.list(base):
                for name in self._driver.list(paths.blob_prefix(algorithm, prefix)):
                    if name.startswith("."):
                        continue
                    try:
                        digest = Digest.parse(f"{algorithm}:{name}")
                    except RegistryError:
                        continue
                    info = self._driver.stat(paths.blob(digest))
                    if info is not None and not info.is_dir:
                        yield digest, info

    def delete(self, digest: Digest) -> bool:
        """Remove the blob's bytes (garbage collection only; it holds the lock exclusive)."""
        path = paths.blob(digest)
        removed = self._driver.delete(path)
        if removed:
            self._driver.prune(path.rpartition("/")[0], paths.BLOBS)
        return removed


def hash_file(driver: StorageDriver, path: str, algorithm: str) -> str:
    """The hex digest of the file at driver path `path`, read in chunks."""
    h = hashlib.new(algorithm)
    file, _ = driver.open(path)
    with file:
        while chunk := file.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
