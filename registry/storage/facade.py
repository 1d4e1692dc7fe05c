"""`Storage`: the registry's storage as one object over one driver; where repositories are
created, listed and deleted, and where the layers share their caches and the GC lock."""

from __future__ import annotations

import uuid
from pathlib import Path

from registry.errors import RegistryError
from registry.storage import paths
from registry.storage.blobs import BlobStore
from registry.storage.cache import ContentCache, StatCache
from registry.storage.driver import StorageDriver
from registry.storage.filesystem import FilesystemDriver
from registry.storage.locks import GCLock
from registry.storage.names import Digest
from registry.storage.paths import RepositoryPaths
from registry.storage.records import RepositoryInfo, now_iso
from registry.storage.repository import Repository
from registry.storage.uploads import UploadStore

__all__ = ["Storage"]

# Manifest bytes kept in memory, at most (content-addressed, so never stale).
_MANIFEST_CACHE_BYTES = 64 * 1024 * 1024
_REPOSITORY_ENTRIES = frozenset(RepositoryPaths.ENTRIES)


class Storage:
    """The registry's storage: in the directory `data_dir` (layout in `paths`), or on `driver`.

        Storage("/var/lib/skiff/registry")          # on disk
        Storage(driver=InMemoryDriver())            # in this process's memory
    """

    def __init__(self, data_dir: str | Path | None = None, *,
                 driver: StorageDriver | None = None) -> None:
        if (data_dir is None) == (driver is None):
            raise TypeError("Storage takes a data directory or a driver, exactly one")
        if driver is None:
            assert data_dir is not None  # exactly one of the two, as just checked
            driver = FilesystemDriver(data_dir)
        self.driver = driver
        # The data directory when the storage is on disk (for tools that look at files).
        self.root: Path | None = Path(data_dir) if data_dir is not None else None
        self.gc_lock = GCLock(driver)
        self.blobs = BlobStore(driver, self.gc_lock)
        self.uploads = UploadStore(driver, self.blobs)
        self.stat_cache = StatCache(driver)
        self._manifest_bytes = ContentCache(_MANIFEST_CACHE_BYTES)
        self._repository_objects: dict[str, Repository] = {}

    def repository(self, name: str) -> Repository:
        """The repository `name` (which may not exist yet); raise NAME_INVALID for a bad name."""
        repository = self._repository_objects.get(name)
        if repository is None:
            repository = Repository(self, name)
            if len(self._repository_objects) > 4096:
                self._repository_objects.clear()
            self._repository_objects[name] = repository
        return repository

    def manifest_bytes(self, digest: Digest) -> bytes:
        """The bytes of a stored manifest (cached: the same digest always means the same bytes)."""
        return self._manifest_bytes.get(digest, lambda: self.blobs.read(digest))

    # -- repositories (ECR's create/describe/delete)

    def create_repository(self, name: str, *, immutable: bool = False,
                          public: bool = False) -> RepositoryInfo:
        """Create an empty repository with settings; REPOSITORY_EXISTS when it exists."""
        repository = self.repository(name)
        info = RepositoryInfo(name, now_iso(), immutable, public)
        if repository.exists() or not repository.write_record(info, exclusive=True):
            raise RegistryError("REPOSITORY_EXISTS", f"repository {name!r} already exists",
                                {"name": name})
        return info

    def delete_repository(self, name: str, *, force: bool = False) -> None:
        """Delete a repository: its settings, tags, manifests and blob links (nested
        repositories below it stay). Without `force`, one that holds images is refused."""
        repository = self.repository(name)
        if not repository.exists():
            raise RegistryError("NAME_UNKNOWN", f"repository {name!r} not found", {"name": name})
        if not force and repository.revisions():
            raise RegistryError("REPOSITORY_NOT_EMPTY",
                                f"repository {name!r} still holds images; delete them first "
                                "or force the deletion", {"name": name})
        token = uuid.uuid4().hex
        # Each entry leaves in one move, manifests first: from then on the repository shows
        # nothing, and a crash leaves whole entries in the trash, never half a repository.
        for entry in repository.paths.ENTRIES:
            try:
                self.driver.move(repository.paths.entry(entry), paths.trash_entry(token, entry))
            except FileNotFoundError:
                pass
        repository.forget()
        self._repository_objects.pop(name, None)
        self.driver.prune(repository.paths.dir, paths.REPOSITORIES)
        self.driver.delete_tree(paths.trash_entry(token))

    def repositories(self) -> list[str]:
        """Every repository name, sorted."""
        names: list[str] = []
        pending = [paths.REPOSITORIES]
        while pending:
            directory = pending.pop()
            entries = self.driver.list(directory)
            if directory != paths.REPOSITORIES and not _REPOSITORY_ENTRIES.isdisjoint(entries):
                names.append(paths.repository_name(directory))
            pending.extend(paths.child(directory, entry) for entry in entries
                           if not entry.startswith(("_", ".")))
        return sorted(names)

    def empty_trash(self) -> None:
        """Remove what a crash left in the trash (deleted repositories)."""
        for entry in self.driver.list(paths.TRASH):
            self.driver.delete_tree(paths.trash_entry(entry))

    def remove_leftovers(self, older_than: float) -> None:
        """Remove what interrupted writes left behind before `older_than` (a Unix time): the
        temporary files of atomic writes, never visible to readers, and the trash."""
        for top in (paths.BLOBS, paths.REPOSITORIES):
            for path in list(self.driver.leftovers(top, older_than)):
                self.driver.delete(path)
        self.empty_trash()
