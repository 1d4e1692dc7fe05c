"""`FilesystemDriver`: the storage driver over one local directory (see `driver` for the contract).

Atomic writes go to a dot-named temporary file in the target's directory, which is fsynced and
then renamed (`put`) or hard-linked (`put_new`, so that exactly one of several creators wins)
into place, and the directory is fsynced. Locks are `flock`s, which belong to the open file, so
they hold between threads of one process as well as between processes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat as stat_mode
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, ContextManager, Iterable, Iterator

from registry.storage.driver import FileInfo

__all__ = ["FilesystemDriver"]

# Temporary files of atomic writes start with this; a crash can leave one behind (never visible
# under a real name) and `leftovers` finds them.
TEMP_PREFIX = ".tmp-"


class FilesystemDriver:
    """Files under the directory `root` (made when missing)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)

    def local(self, path: str) -> str:
        """The filesystem path of the driver path `path`."""
        return f"{self._root}/{path}"

    def stat(self, path: str) -> FileInfo | None:
        try:
            st = os.stat(f"{self._root}/{path}")
        except (FileNotFoundError, NotADirectoryError):
            return None
        is_dir = stat_mode.S_ISDIR(st.st_mode)
        return FileInfo(0 if is_dir else st.st_size, st.st_mtime, is_dir,
                        (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size))

    def exists(self, path: str) -> bool:
        return os.path.exists(f"{self._root}/{path}")

    def read(self, path: str) -> bytes:
        try:
            with open(f"{self._root}/{path}", "rb") as f:
                return f.read()
        except (NotADirectoryError, IsADirectoryError) as exc:
            raise FileNotFoundError(path) from exc

    def open(self, path: str) -> tuple[BinaryIO, int]:
        try:
            file = open(f"{self._root}/{path}", "rb")
        except (NotADirectoryError, IsADirectoryError) as exc:
            raise FileNotFoundError(path) from exc
        return file, os.fstat(file.fileno()).st_size

    def create(self, path: str, data: bytes = b"") -> bool:
        local = f"{self._root}/{path}"
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            return False
        try:
            if data:
                os.write(fd, data)
        finally:
            os.close(fd)
        return True

    def put(self, path: str, data: bytes) -> None:
        local = f"{self._root}/{path}"
        directory = os.path.dirname(local)
        tmp = _write_temp(directory, data)
        try:
            os.replace(tmp, local)
        except BaseException:
            _unlink(tmp)
            raise
        _fsync_dir(directory)

    def put_new(self, path: str, data: bytes) -> bool:
        local = f"{self._root}/{path}"
        directory = os.path.dirname(local)
        tmp = _write_temp(directory, data)
        try:
            os.link(tmp, local)
        except FileExistsError:
            return False
        finally:
            _unlink(tmp)
        _fsync_dir(directory)
        return True

    def append(self, path: str, chunks: Iterable[bytes]) -> int:
        try:
            fd = os.open(f"{self._root}/{path}", os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except NotADirectoryError as exc:
            raise FileNotFoundError(path) from exc
        written = 0
        with os.fdopen(fd, "ab") as f:
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
        return written

    def move(self, src: str, dst: str) -> None:
        local_src, local_dst = f"{self._root}/{src}", f"{self._root}/{dst}"
        if not os.path.isdir(local_src):
            with open(local_src, "rb") as f:
                os.fsync(f.fileno())
        os.makedirs(os.path.dirname(local_dst), exist_ok=True)
        os.replace(local_src, local_dst)

    def touch(self, path: str) -> bool:
        try:
            os.utime(f"{self._root}/{path}")
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False

    def delete(self, path: str) -> bool:
        return _unlink(f"{self._root}/{path}")

    def prune(self, directory: str, stop: str) -> None:
        directory, stop = directory.rstrip("/"), stop.rstrip("/")
        while directory != stop and directory.startswith(f"{stop}/" if stop else ""):
            try:
                os.rmdir(f"{self._root}/{directory}")
            except OSError:
                return
            directory = directory.rpartition("/")[0]

    def delete_tree(self, path: str) -> None:
        local = f"{self._root}/{path}"
        try:
            os.rmdir(local)  # the common case, an emptied directory, in one call
        except (FileNotFoundError, NotADirectoryError):
            if os.path.isfile(local) or os.path.islink(local):
                _unlink(local)
        except OSError:
            shutil.rmtree(local, ignore_errors=True)

    def list(self, directory: str) -> list[str]:
        try:
            return sorted(os.listdir(f"{self._root}/{directory}"))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def shared_lock(self, path: str) -> ContextManager[None]:
        return self._locked(path, fcntl.LOCK_SH)

    def exclusive_lock(self, path: str) -> ContextManager[None]:
        return self._locked(path, fcntl.LOCK_EX)

    @contextmanager
    def _locked(self, path: str, operation: int) -> Iterator[None]:
        fd = os.open(f"{self._root}/{path}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def leftovers(self, top: str, older_than: float) -> Iterator[str]:
        """Temporary files of interrupted atomic writes below `top`, last written before
        `older_than` (a Unix time): driver paths a crash left behind, never visible otherwise."""
        base = f"{self._root}/{top}"
        for directory, _subdirs, files in os.walk(base):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    local = os.path.join(directory, name)
                    try:
                        if os.stat(local).st_mtime < older_than:
                            yield os.path.relpath(local, self._root).replace(os.sep, "/")
                    except FileNotFoundError:
                        continue


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: str, data: bytes) -> str:
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
