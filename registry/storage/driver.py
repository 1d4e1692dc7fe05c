"""The storage seam: the primitive byte storage every higher layer of the registry stands on.

A driver stores files under relative paths (`blobs/sha256/ab/ab12…`, components separated by
`/`, never empty, never `.` or `..`; `paths` builds every one of them) and knows directories as
the parents of those files. It knows nothing of digests, repositories or HTTP: verification,
naming and layout live above it. Two implementations keep the same contract (proved by
`tests/registry/test_storage_contract.py`): `FilesystemDriver` (what the registry runs on) and
`InMemoryDriver` (a whole registry in one process, no disk).

What the layers above rely on:

- `put` / `put_new` are atomic and durable: a reader sees the old bytes or the new ones, never
  a part, and they survive a crash once the call returns.
- `create` and `append` are neither: they write in place (upload data, link files and upload
  records, whose readers cope with a partial file).
- `move` makes a file visible at its new path in one step, its bytes durable first; that is how
  a verified blob enters `blobs/`.
- Directories appear when a file is written below them and stay (empty) until `prune`d or
  removed with `delete_tree`.
"""

from __future__ import annotations

from typing import BinaryIO, ContextManager, Hashable, Iterable, Iterator, NamedTuple, Protocol

__all__ = ["FileInfo", "StorageDriver"]


class FileInfo(NamedTuple):
    """What `stat` knows of a path: a file's size (0 for a directory), its last modification as
    a Unix time, whether it is a directory, and a `version` that differs whenever the file was
    replaced or written to (what caches of parsed small files compare)."""

    size: int
    mtime: float
    is_dir: bool
    version: Hashable


class StorageDriver(Protocol):
    """Primitive operations on files under relative paths. Thread-safe; safe between processes
    sharing one store where the implementation is shared (the filesystem)."""

    def stat(self, path: str) -> FileInfo | None:
        """The file or directory at `path`, or None when there is none."""

    def exists(self, path: str) -> bool:
        """Whether a file or directory is at `path` (`stat(path) is not None`, cheaper)."""

    def read(self, path: str) -> bytes:
        """The whole file at `path`. Raises FileNotFoundError when no file is there."""

    def open(self, path: str) -> tuple[BinaryIO, int]:
        """A reader positioned at the start of the file at `path`, and the file's size when it
        was opened. The reader keeps seeing those bytes if the path is replaced or deleted
        meanwhile. Raises FileNotFoundError when no file is there. The caller closes it."""

    def create(self, path: str, data: bytes = b"") -> bool:
        """Create the file `path` holding `data` unless something is already there; True when
        this call made it. Parent directories are made. Neither atomic nor durable: a reader
        may see the file before all of `data` is in it."""

    def put(self, path: str, data: bytes) -> None:
        """Replace (or create) the file `path` with `data`, atomically and durably: readers see
        the old bytes or `data`, never a mix or a part. Parent directories are made."""

    def put_new(self, path: str, data: bytes) -> bool:
        """As `put`, but only when nothing is at `path`; True when this call made the file. Of
        several concurrent callers exactly one gets True."""

    def append(self, path: str, chunks: Iterable[bytes]) -> int:
        """Append the bytes of `chunks`, in order, to the existing file `path`; return how many
        were appended. When `chunks` raises, the bytes appended before stay and the exception
        propagates. Raises FileNotFoundError when the file does not exist (it never makes one).
        Not durable; one writer per file at a time."""

    def move(self, src: str, dst: str) -> None:
        """Make the file or directory `src` appear at `dst` in one step, replacing a file there,
        and remove `src`. A file's bytes are durable before it appears. Parent directories of
        `dst` are made. Raises FileNotFoundError when nothing is at `src`."""

    def touch(self, path: str) -> bool:
        """Set the modification time of the file `path` to now; False when there is none."""

    def delete(self, path: str) -> bool:
        """Remove the file `path`; False when there was none. Its directory stays."""

    def prune(self, directory: str, stop: str) -> None:
        """Remove `directory` and then each parent while it is empty, never `stop` (an
        ancestor of `directory`) nor anything above it."""

    def delete_tree(self, path: str) -> None:
        """Remove `path` and everything below it; nothing happens when it does not exist."""

    def list(self, directory: str) -> list[str]:
        """The names of the entries directly in `directory`, sorted; [] when it is not a
        directory (absent, or a file)."""

    def shared_lock(self, path: str) -> ContextManager[None]:
        """Hold `path`'s lock shared while in the block: any number of holders at once."""

    def exclusive_lock(self, path: str) -> ContextManager[None]:
        """Hold `path`'s lock exclusive while in the block: no other holder, shared or not."""

    def leftovers(self, top: str, older_than: float) -> Iterator[str]:
        """Paths below `top` of what interrupted atomic writes left behind, last written before
        `older_than` (a Unix time). They were never visible under a real name; delete them."""
