"""Content-addressed filesystem storage for the registry. Imports nothing from HTTP.

Three layers over one data directory, as in distribution/distribution:

- `BlobStore`: global content-addressed bytes. A blob enters only through `commit`, which checks
  size and digest and then renames the file into place; nothing else writes under `blobs/`.
- `UploadStore`: upload sessions, explicit records (id, repository, offset, started) whose data
  grows by appends and which end in a commit to the `BlobStore`, a cancel, or a purge.
- `Repository`: one name's view: its settings record, which blobs it may serve (links), its
  manifest revisions, its tags and its referrers index. `Storage.repository(name)` validates the
  name before any path is built.

Layout (written once; nothing else in the package spells these paths)::

    <data>/
    ├── .gc.lock                           flock: reference writers shared, GC's sweep exclusive
    ├── blobs/
    │   └── sha256/                        (or sha512/)
    │       └── ab/
    │           └── ab12…ef                blob bytes, named by their digest
    ├── repositories/
    │   └── team/app/                      the repository name, one directory per component
    │       ├── _repository.json           settings: createdAt, immutable, public, lifecycle
    │       ├── _layers/
    │       │   └── sha256/
    │       │       └── ab12…ef            link file: this repository may serve the blob
    │       └── _manifests/
    │           ├── revisions/
    │           │   └── sha256/
    │           │       └── cd34…01        JSON record {digest, mediaType, size, pushedAt, …};
    │           │                          the manifest's bytes are blob cd34…01
    │           ├── tags/
    │           │   └── latest             holds the digest of the manifest tagged "latest"
    │           └── referrers/
    │               └── sha256/
    │                   └── cd34…01/       the subject's digest
    │                       └── sha256/
    │                           └── ef56…  descriptor of a manifest whose subject is cd34…01
    ├── uploads/
    │   └── <uuid>/
    │       ├── data                       bytes received so far (offset = its size)
    │       └── record                     JSON {repository, startedAt}; the session exists
    │                                      while (and only while) this file parses
    └── trash/                             deleted repositories on their way out

Small files that are read (records, tags, revisions) are written to a dot-named temporary file
in the same directory, fsynced and `os.replace`d into place, so a reader never sees a
half-written one. Blob links are only ever tested for existence, so they are created in place.
No digest, tag or name component can start with a dot or an underscore (see the grammars
below), so the `_layers` / `_manifests` / `_repository.json` entries cannot collide with a name
component.

Durability: blob bytes are fsynced before they are renamed into place; records, tags and
revisions are fsynced with their directory. A blob's rename and its link are made durable by
the manifest put that follows them (on a journaling filesystem the journal commits metadata in
order), which saves two directory fsyncs per layer.

Write order keeps every visible thing complete after a crash at any point: blob bytes, then the
repository's link; manifest bytes, then its referrers entry, then its revision record, then the
tag. A retried push rewrites whatever step is missing.

Caches: manifest bytes are cached by digest (content-addressed, never stale); revision records
and repository settings are cached and re-validated with one `os.stat` per read (written once,
or replaced by this process, which forgets them); tags are read from disk on every resolve.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, TypeVar

from registry.errors import RegistryError

__all__ = [
    "BlobInfo", "BlobStore", "Digest", "GCLock", "ImageInfo", "ManifestInfo", "Repository",
    "RepositoryInfo", "Storage", "UploadSession", "UploadStore", "MANIFEST_MEDIA_TYPES",
    "MAX_MANIFEST_BYTES", "OCI_EMPTY", "OCI_INDEX", "OCI_MANIFEST", "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST", "manifest_references", "parse_digest", "parse_reference",
    "tag_sort_key", "validate_name", "validate_tag",
]

# Grammars from the OCI Distribution Spec v1.1.
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_HEX_RE = re.compile(r"[0-9a-f]+")
_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# distribution's limit; longer names break most clients anyway.
MAX_NAME_LENGTH = 255
# Registries may refuse bigger manifests; 4 MiB is the spec's suggested floor, and ours.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# Digest algorithm -> length of its lowercase hex encoding.
_ALGORITHMS = {"sha256": 64, "sha512": 128}
_CHUNK = 1024 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST})
_INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
# Layers that live elsewhere (Windows base layers); a registry does not hold them.
_FOREIGN_LAYER_TYPES = frozenset({
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
})
_REPOSITORY_RECORD = "_repository.json"

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Names, tags, digests


@dataclass(frozen=True)
class Digest:
    """A validated content digest, `algorithm:hex` (sha256 or sha512)."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, value: str) -> "Digest":
        """Parse and validate `value`; raise DIGEST_INVALID when it is malformed or unsupported."""
        cached = _DIGESTS.get(value) if isinstance(value, str) else None
        if cached is not None:
            return cached
        if not isinstance(value, str) or not _DIGEST_RE.fullmatch(value):
            raise RegistryError("DIGEST_INVALID", f"invalid digest {value!r}",
                                {"digest": str(value)})
        algorithm, hexpart = value.split(":", 1)
        if algorithm not in _ALGORITHMS:
            raise RegistryError("DIGEST_INVALID", f"unsupported digest algorithm {algorithm!r}",
                                {"digest": value})
        if len(hexpart) != _ALGORITHMS[algorithm] or not _HEX_RE.fullmatch(hexpart):
            raise RegistryError("DIGEST_INVALID", f"{algorithm} digest must be "
                                f"{_ALGORITHMS[algorithm]} lowercase hex digits", {"digest": value})
        digest = cls(algorithm, hexpart)
        if len(_DIGESTS) > 65536:
            _DIGESTS.clear()
        _DIGESTS[value] = digest
        return digest

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        """The digest of `data`."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> "hashlib._Hash":
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


# Parsing digests is on every request's path; valid ones are remembered.
_DIGESTS: dict[str, Digest] = {}


def parse_digest(value: str | Digest) -> Digest:
    """`value` as a Digest; raise DIGEST_INVALID when it is not one."""
    return value if isinstance(value, Digest) else Digest.parse(value)


def validate_name(name: str) -> str:
    """Return `name` when it is a valid repository name; raise NAME_INVALID otherwise.

    Names are lowercase components separated by `/` (`team/app/web`); `..`, absolute paths,
    empty components and upper case are all rejected by the grammar, which keeps every name a
    safe relative path.
    """
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name {name!r}",
                            {"name": str(name)})
    return name


def validate_tag(tag: str) -> str:
    """Return `tag` when it matches the spec's tag grammar; raise MANIFEST_INVALID otherwise."""
    if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
        # The spec has no TAG_INVALID; distribution answers a bad tag with MANIFEST_INVALID.
        raise RegistryError("MANIFEST_INVALID", f"invalid tag {tag!r}", {"tag": str(tag)})
    return tag


def parse_reference(reference: str) -> str | Digest:
    """A manifest reference: a Digest when it contains ':', else a validated tag."""
    if ":" in reference:
        return Digest.parse(reference)
    return validate_tag(reference)


def lookup_reference(reference: str) -> str | Digest:
    """A manifest reference to look up: as `parse_reference`, except that a string that is no
    valid tag names no manifest, so it is MANIFEST_UNKNOWN (the spec's answer to GET or HEAD of
    a missing manifest) rather than MANIFEST_INVALID (which is for a bad tag on PUT)."""
    if isinstance(reference, str) and ":" not in reference and not _TAG_RE.fullmatch(reference):
        raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {reference!r}", {"tag": reference})
    return parse_reference(reference)


def tag_sort_key(tag: str) -> tuple[str, str]:
    """The spec's "lexical order" of tags: case-insensitive, ties broken by the exact bytes."""
    return tag.lower(), tag


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its digest and size in bytes."""

    digest: Digest
    size: int


@dataclass(frozen=True)
class ManifestInfo:
    """A stored manifest revision: digest of its exact bytes, media type, size, and what the
    referrers API and listings need (subject, artifactType, annotations, push time)."""

    digest: Digest
    media_type: str
    size: int
    pushed_at: str = ""
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None
    image_size: int = 0

    def descriptor(self) -> dict[str, Any]:
        """This manifest as an OCI descriptor (what the referrers API lists)."""
        descriptor: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                                      "size": self.size}
        if self.artifact_type:
            descriptor["artifactType"] = self.artifact_type
        if self.annotations:
            descriptor["annotations"] = self.annotations
        return descriptor


@dataclass(frozen=True)
class UploadSession:
    """An upload in progress: `offset` bytes received so far, in repository `repository`."""

    id: str
    repository: str
    offset: int
    started_at: datetime


@dataclass(frozen=True)
class RepositoryInfo:
    """A repository's settings (ECR's): tag immutability, anonymous pull, lifecycle rules."""

    name: str
    created_at: str
    immutable: bool = False
    public: bool = False
    lifecycle: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "createdAt": self.created_at, "immutable": self.immutable,
                "public": self.public, "lifecycle": list(self.lifecycle)}


@dataclass
class ImageInfo:
    """One manifest of a repository as `skiff image ls` shows it (ECR's image detail)."""

    digest: str
    media_type: str
    manifest_size: int
    image_size: int
    pushed_at: str
    tags: list[str] = field(default_factory=list)
    artifact_type: str | None = None
    subject: str | None = None
    # Manifests this one lists (an index's children).
    children: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "imageDigest": self.digest, "imageTags": self.tags, "mediaType": self.media_type,
            "imageSizeInBytes": self.image_size, "imagePushedAt": self.pushed_at}
        if self.artifact_type:
            document["artifactType"] = self.artifact_type
        if self.subject:
            document["subject"] = self.subject
        if self.children:
            document["manifests"] = self.children
        return document


# ---------------------------------------------------------------------------------------------
# Filesystem helpers


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _mtime_iso(path: str) -> str:
    try:
        stamp = os.stat(path).st_mtime
    except FileNotFoundError:
        stamp = time.time()
    return (datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="microseconds")
            .replace("+00:00", "Z"))


def _fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: str, data: bytes) -> str:
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _atomic_write(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part."""
    path = str(path)
    directory = os.path.dirname(path)
    tmp = _write_temp(directory, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(directory)


def _create_exclusive(path: str, data: bytes) -> bool:
    """Create `path` holding `data` unless it exists (atomically); True when this call made it."""
    directory = os.path.dirname(path)
    tmp = _write_temp(directory, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        _unlink(tmp)
    _fsync_dir(directory)
    return True


def _unlink(path: str | Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _read_text(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode()


def _hash_file(path: str | Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _remove_empty_parents(path: str, stop: str) -> None:
    """rmdir `path` and its parents while they are empty, never `stop` itself."""
    stop = os.path.normpath(stop)
    path = os.path.normpath(path)
    while path != stop and path.startswith(stop + os.sep):
        try:
            os.rmdir(path)
        except OSError:
            return
        path = os.path.dirname(path)


class StatCache:
    """Values derived from small files, re-read only when the file changed.

    Every `get` stats the file: (inode, mtime, ctime, size) must match what was seen when the
    value was loaded. All our writes are renames of fresh files (new inode), so a change made by
    another process is noticed; writes made by this process also `forget` the path at once.
    (Only files written once, or rewritten by the server alone, are cached this way: a file
    rewritten twice by another process within one timestamp tick could reuse a freed inode.)
    """

    def __init__(self, max_entries: int = 8192) -> None:
        self._entries: dict[str, tuple[tuple[int, int, int, int], Any]] = {}
        self._max = max_entries

    def get(self, path: str, load: Callable[[str], T]) -> T:
        """`load(path)`, or the value loaded before if the file did not change since.

        Raises FileNotFoundError when the file does not exist.
        """
        st = os.stat(path)
        key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            return entry[1]
        value = load(path)
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[path] = (key, value)
        return value

    def forget(self, path: str) -> None:
        self._entries.pop(path, None)


class GCLock:
    """A reader/writer lock between processes on one data directory (flock on `.gc.lock`).

    Whatever makes a blob referenced (a blob commit or mount, a manifest put) holds it shared;
    garbage collection's final mark and sweep hold it exclusive, so a blob is never deleted
    between "checked it exists" and "made a manifest point at it". flock locks belong to the
    open file, so this works between threads of one process too.
    """

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    @contextmanager
    def _held(self, operation: int) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def shared(self) -> Any:
        """Held while making content referenced."""
        return self._held(fcntl.LOCK_SH)

    def exclusive(self) -> Any:
        """Held by garbage collection while it decides and deletes."""
        return self._held(fcntl.LOCK_EX)


# ---------------------------------------------------------------------------------------------
# Layer 1: global content-addressed blobs


class BlobStore:
    """Blobs by digest under `<data>/blobs`. A blob is visible only once verified and renamed."""

    def __init__(self, root: Path, lock: GCLock) -> None:
        self.root = root
        self._root = str(root)
        self._lock = lock

    def path(self, digest: Digest) -> str:
        """Where blob `digest` lives (whether or not it exists)."""
        return f"{self._root}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    def stat(self, digest: Digest) -> BlobInfo | None:
        """The blob's info, or None when it is not stored."""
        try:
            return BlobInfo(digest, os.stat(self.path(digest)).st_size)
        except FileNotFoundError:
            return None

    def open(self, digest: Digest) -> BinaryIO:
        """Open blob `digest` for reading; raise BLOB_UNKNOWN when it is not stored."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)}) from None

    def read(self, digest: Digest) -> bytes:
        """The whole blob (for manifests); raise BLOB_UNKNOWN when it is not stored."""
        with self.open(digest) as f:
            return f.read()

    def commit(self, src: str | Path, digest: Digest, *, expected_size: int | None = None,
               hexdigest: str | None = None, then: Callable[[], None] | None = None) -> BlobInfo:
        """Make the file `src` visible as blob `digest` after checking its size and digest.

        `hexdigest` is the digest of `src` computed while it was written (saves reading it again);
        when None, the file is hashed here. On SIZE_INVALID or DIGEST_INVALID nothing becomes
        visible and `src` is left to the caller. `src` must be on the same filesystem. `then`
        runs under the same hold of the GC lock (it links the blob into a repository, so no
        collection can see the blob unreferenced in between).
        """
        src = str(src)
        size = os.stat(src).st_size
        if expected_size is not None and size != expected_size:
            raise RegistryError("SIZE_INVALID", f"received {size} bytes, expected {expected_size}",
                                {"size": size, "expected": expected_size})
        if hexdigest is None:
            hexdigest = _hash_file(src, digest.algorithm)
        if hexdigest != digest.hex:
            raise RegistryError("DIGEST_INVALID",
                                f"content digest is {digest.algorithm}:{hexdigest}, not {digest}",
                                {"digest": str(digest)})
        with open(src, "rb") as f:
            os.fsync(f.fileno())
        with self._lock.shared():
            self._place(src, digest)
            if then is not None:
                then()
        return BlobInfo(digest, size)

    def _place(self, src: str, digest: Digest) -> None:
        dest = self.path(digest)
        if os.path.exists(dest):
            # Same digest, same bytes: keep the file readers may have open, and mark it as
            # freshly used so a concurrent garbage collection leaves it alone.
            os.utime(dest)
            os.unlink(src)
            return
        directory = os.path.dirname(dest)
        os.makedirs(directory, exist_ok=True)
        os.utime(src)  # its age counts from the commit (garbage collection's grace period)
        os.replace(src, dest)

    def put_bytes(self, data: bytes, digest: Digest) -> BlobInfo:
        """Store small content held in memory (manifests) as blob `digest`, verified.

        The caller holds the GC lock shared.
        """
        if Digest.of(data, digest.algorithm) != digest:
            raise RegistryError("DIGEST_INVALID", f"content does not match {digest}",
                                {"digest": str(digest)})
        dest = self.path(digest)
        if os.path.exists(dest):
            os.utime(dest)
        else:
            _atomic_write(dest, data)
        return BlobInfo(digest, len(data))

    def touch(self, digest: Digest) -> BlobInfo | None:
        """Mark an existing blob as freshly used (mounts); None when it is not stored.

        The caller holds the GC lock shared.
        """
        try:
            os.utime(self.path(digest))
        except FileNotFoundError:
            return None
        return self.stat(digest)

    def walk(self) -> Iterator[tuple[Digest, str, os.stat_result]]:
        """Every stored blob: (digest, path, stat)."""
        if not self.root.is_dir():
            return
        for algorithm in sorted(os.listdir(self._root)):
            if algorithm not in _ALGORITHMS:
                continue
            base = os.path.join(self._root, algorithm)
            for prefix in sorted(os.listdir(base)):
                directory = os.path.join(base, prefix)
                if not os.path.isdir(directory):
                    continue
                for name in sorted(os.listdir(directory)):
                    path = os.path.join(directory, name)
                    if name.startswith("."):
                        continue
                    try:
                        digest = Digest.parse(f"{algorithm}:{name}")
                        yield digest, path, os.stat(path)
                    except (RegistryError, FileNotFoundError):
                        continue

    def delete(self, digest: Digest) -> bool:
        """Remove the blob's bytes (garbage collection only; it holds the lock exclusive)."""
        path = self.path(digest)
        removed = _unlink(path)
        if removed:
            _remove_empty_parents(os.path.dirname(path), self._root)
        return removed


# ---------------------------------------------------------------------------------------------
# Layer 2: upload sessions


class UploadStore:
    """Upload sessions under `<data>/uploads/<uuid>`; each ends in a verified blob commit.

    Appends to one session are serialised by a per-session lock (the spec requires clients to
    upload chunks in order). A sha256 hasher per session follows the appends so that completing
    an upload needs no second read; after a restart or for sha512 the data file is re-hashed.
    A session untouched for longer than a configured age is purged (`purge`).
    """

    def __init__(self, root: Path, blobs: BlobStore) -> None:
        self.root = root
        self._root = str(root)
        self._blobs = blobs
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        # upload id -> (offset the hasher has seen, sha256 hasher)
        self._hashers: dict[str, tuple[int, "hashlib._Hash"]] = {}
        # upload id -> (repository, started): records never change once written
        self._records: dict[str, tuple[str, datetime]] = {}

    def create(self, repository: str) -> UploadSession:
        """Start a new, empty session for `repository`."""
        validate_name(repository)
        upload_id = str(uuid.uuid4())
        started = datetime.now(timezone.utc)
        directory = os.path.join(self._root, upload_id)
        os.makedirs(directory)
        with open(os.path.join(directory, "data"), "wb"):
            pass
        # The record comes last: until it is whole, the session does not exist.
        with open(os.path.join(directory, "record"), "w") as f:
            f.write(json.dumps({"repository": repository, "startedAt": started.isoformat()}))
        with self._guard:
            self._records[upload_id] = (repository, started)
        return UploadSession(upload_id, repository, 0, started)

    def _record(self, upload_id: str) -> tuple[str, datetime]:
        record = self._records.get(upload_id)
        if record is None:
            try:
                document = json.loads(_read_text(os.path.join(self._root, upload_id, "record")))
                record = (document["repository"], datetime.fromisoformat(document["startedAt"]))
            except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
                raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id}) from None
            with self._guard:
                self._records[upload_id] = record
        return record

    def get(self, upload_id: str, repository: str) -> UploadSession:
        """The session `upload_id` of `repository`; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"invalid upload id {upload_id!r}",
                                {"upload": str(upload_id)})
        owner, started = self._record(upload_id)
        try:
            offset = os.stat(os.path.join(self._root, upload_id, "data")).st_size
        except (FileNotFoundError, NotADirectoryError):
            with self._guard:  # ended by another process (a purge)
                self._records.pop(upload_id, None)
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id}) from None
        if owner != repository:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id})
        return UploadSession(upload_id, owner, offset, started)

    def list(self) -> list[UploadSession]:
        """Every complete session on disk."""
        sessions = []
        if self.root.is_dir():
            for name in sorted(os.listdir(self._root)):
                if _UPLOAD_ID_RE.fullmatch(name):
                    try:
                        sessions.append(self.get(name, self._record(name)[0]))
                    except RegistryError:
                        continue
        return sessions

    def last_activity(self, upload_id: str) -> float:
        """When the session last received bytes (or was created), as a Unix time."""
        directory = os.path.join(self._root, upload_id)
        stamps = []
        for name in ("data", "record"):
            try:
                stamps.append(os.stat(os.path.join(directory, name)).st_mtime)
            except (FileNotFoundError, NotADirectoryError):
                pass
        if not stamps:  # a directory a crash left without files
            try:
                stamps.append(os.stat(directory).st_mtime)
            except FileNotFoundError:
                pass
        return max(stamps, default=0.0)

    def append(self, upload_id: str, repository: str, chunks: Iterable[bytes]) -> UploadSession:
        """Append the bytes of `chunks` to the session and return it with its new offset.

        When `chunks` raises (the client went away), the bytes already written stay: the client
        can ask for the offset and resume. They are never visible as a blob.
        """
        with self._lock(upload_id):
            return self._append(upload_id, repository, chunks)

    def complete(self, upload_id: str, repository: str, digest: Digest,
                 chunks: Iterable[bytes] = (), *, expected_size: int | None = None,
                 then: Callable[[], None] | None = None) -> BlobInfo:
        """Append the last `chunks`, verify size and digest, and commit the data as a blob
        (`then` as in `BlobStore.commit`).

        The session ends either way: on success its data became the blob; on SIZE_INVALID or
        DIGEST_INVALID it is discarded (as distribution does), since it can never match.
        """
        with self._lock(upload_id):
            session = self._append(upload_id, repository, chunks)
            with self._guard:
                cached = self._hashers.get(upload_id)
            hexdigest = None
            if digest.algorithm == "sha256" and cached and cached[0] == session.offset:
                hexdigest = cached[1].hexdigest()
            try:
                return self._blobs.commit(os.path.join(self._root, upload_id, "data"), digest,
                                          expected_size=expected_size, hexdigest=hexdigest,
                                          then=then)
            finally:
                self._remove(upload_id)

    def cancel(self, upload_id: str, repository: str) -> None:
        """Delete the session and its data; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        with self._lock(upload_id):
            self.get(upload_id, repository)
            self._remove(upload_id)

    def purge(self, max_age: float, now: float | None = None) -> list[UploadSession]:
        """Delete sessions that received nothing for `max_age` seconds; return them.

        Also removes what a crash left half-made. A session in the middle of a request in this
        process is skipped, whatever its age.
        """
        now = time.time() if now is None else now
        purged = []
        if not self.root.is_dir():
            return purged
        for name in os.listdir(self._root):
            path = os.path.join(self._root, name)
            if name.startswith("."):  # leftovers of older versions
                try:
                    if now - os.stat(path).st_mtime > max_age:
                        shutil.rmtree(path, ignore_errors=True)
                except FileNotFoundError:
                    pass
                continue
            if not _UPLOAD_ID_RE.fullmatch(name):
                continue
            if now - self.last_activity(name) <= max_age:
                continue
            lock = self._lock(name)
            if not lock.acquire(blocking=False):
                continue  # a request is writing to it right now
            try:
                if now - self.last_activity(name) <= max_age:
                    continue
                try:
                    session = self.get(name, self._record(name)[0])
                except RegistryError:
                    session = UploadSession(name, "", 0, datetime.now(timezone.utc))
                self._remove(name)
                purged.append(session)
            finally:
                lock.release()
        return purged

    def _lock(self, upload_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(upload_id, threading.Lock())

    def _append(self, upload_id: str, repository: str, chunks: Iterable[bytes]) -> UploadSession:
        session = self.get(upload_id, repository)
        with self._guard:
            cached = self._hashers.pop(upload_id, None)
        hasher = cached[1] if cached and cached[0] == session.offset else None
        if hasher is None and session.offset == 0:
            hasher = hashlib.sha256()
        written = 0
        with open(os.path.join(self._root, upload_id, "data"), "ab") as f:
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
        # Only a clean append keeps the hasher; after a failure it may disagree with the file.
        if hasher is not None:
            with self._guard:
                self._hashers[upload_id] = (session.offset + written, hasher)
        return UploadSession(upload_id, repository, session.offset + written, session.started_at)

    def _remove(self, upload_id: str) -> None:
        with self._guard:
            self._hashers.pop(upload_id, None)
            self._locks.pop(upload_id, None)
            self._records.pop(upload_id, None)
        directory = os.path.join(self._root, upload_id)
        # The record first: from then on the session does not exist, whatever happens next.
        for name in ("record", "data"):
            _unlink(os.path.join(directory, name))
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError:
            shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Manifests: parsing and validation (pure)


def _manifest_media_type(document: dict, content_type: str | None) -> str:
    """The media type of a manifest from the request's Content-Type and its own mediaType."""
    declared = document.get("mediaType")
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header in MANIFEST_MEDIA_TYPES:
        if declared is not None and declared != header:
            raise RegistryError("MANIFEST_INVALID",
                                f"mediaType {declared!r} does not match Content-Type {header!r}",
                                {"field": "mediaType"})
        return header
    if declared is None:
        # OCI allows omitting mediaType; the shape tells the two OCI types apart.
        declared = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if declared not in MANIFEST_MEDIA_TYPES:
        raise RegistryError("MANIFEST_INVALID", f"unsupported manifest media type {declared!r}",
                            {"mediaType": declared, "supported": sorted(MANIFEST_MEDIA_TYPES)})
    return declared


def _descriptor_list(document: dict, field_name: str) -> list:
    value = document.get(field_name)
    if not isinstance(value, list):
        raise RegistryError("MANIFEST_INVALID", f"{field_name} must be a list",
                            {"field": field_name})
    return value


def _descriptor_digest(descriptor: object, field_name: str) -> Digest:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise RegistryError("MANIFEST_INVALID", f"{field_name} must be a descriptor with a digest",
                            {"field": field_name})
    size = descriptor.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise RegistryError("MANIFEST_INVALID", f"{field_name}.size must be a non-negative integer",
                            {"field": field_name})
    try:
        return Digest.parse(descriptor["digest"])
    except RegistryError as exc:
        raise RegistryError("DIGEST_INVALID", f"{field_name}.digest: {exc.message}",
                            {"field": field_name, "digest": descriptor["digest"]}) from None


@dataclass(frozen=True)
class _ParsedManifest:
    media_type: str
    blobs: tuple[tuple[Digest, str | None], ...]   # (digest, descriptor mediaType): config, layers
    children: tuple[Digest, ...]                   # manifests an index lists
    subject: Digest | None
    artifact_type: str | None
    annotations: dict[str, str] | None
    image_size: int


def _parse_manifest(body: bytes, content_type: str | None) -> _ParsedManifest:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistryError("MANIFEST_INVALID", f"manifest is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise RegistryError("MANIFEST_INVALID", "manifest must be a JSON object")
    media_type = _manifest_media_type(document, content_type)
    if document.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", "schemaVersion must be 2",
                            {"field": "schemaVersion"})
    blobs: list[tuple[Digest, str | None]] = []
    children: list[Digest] = []
    size = 0
    if media_type in _INDEX_MEDIA_TYPES:
        for i, child in enumerate(_descriptor_list(document, "manifests")):
            children.append(_descriptor_digest(child, f"manifests[{i}]"))
            size += child.get("size") or 0
    else:
        config = document.get("config")
        descriptors = [("config", config)] + [
            (f"layers[{i}]", layer) for i, layer in enumerate(_descriptor_list(document, "layers"))]
        for name, descriptor in descriptors:
            digest = _descriptor_digest(descriptor, name)
            blobs.append((digest, descriptor.get("mediaType")))
            size += descriptor.get("size") or 0
    subject = None
    if "subject" in document and document["subject"] is not None:
        subject = _descriptor_digest(document["subject"], "subject")
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise RegistryError("MANIFEST_INVALID", "artifactType must be a string",
                            {"field": "artifactType"})
    if not artifact_type and media_type == OCI_MANIFEST:
        # The referrers API's rule: an image manifest without artifactType is typed by its config.
        config = document.get("config") or {}
        artifact_type = config.get("mediaType") if isinstance(config, dict) else None
    annotations = document.get("annotations")
    if annotations is not None and not (isinstance(annotations, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())):
        raise RegistryError("MANIFEST_INVALID", "annotations must map strings to strings",
                            {"field": "annotations"})
    return _ParsedManifest(media_type, tuple(blobs), tuple(children), subject,
                           artifact_type or None, annotations or None, size)


def manifest_references(body: bytes) -> tuple[list[Digest], list[Digest]]:
    """(blobs, child manifests) a stored manifest references; ([], []) when it cannot be parsed.

    Used by garbage collection, which must not fail on one odd manifest.
    """
    try:
        parsed = _parse_manifest(body, None)
    except RegistryError:
        return [], []
    return [d for d, _ in parsed.blobs], list(parsed.children)


# ---------------------------------------------------------------------------------------------
# Layer 3: repositories (settings, links, manifests, tags, referrers)


class Repository:
    """One repository's view of the storage. Build it with `Storage.repository(name)`."""

    def __init__(self, storage: "Storage", name: str) -> None:
        self.name = validate_name(name)
        self._storage = storage
        self._blobs = storage.blobs
        self._uploads = storage.uploads
        self._cache = storage._cache
        self._dir = os.path.join(storage._repositories, *name.split("/"))
        self._record_path = os.path.join(self._dir, _REPOSITORY_RECORD)
        self._layers = os.path.join(self._dir, "_layers")
        self._manifests = os.path.join(self._dir, "_manifests")
        self._tags = os.path.join(self._manifests, "tags")

    # -- paths (the only place they are spelled)

    def _layer_link(self, digest: Digest) -> str:
        return f"{self._layers}/{digest.algorithm}/{digest.hex}"

    def _revision(self, digest: Digest) -> str:
        return f"{self._manifests}/revisions/{digest.algorithm}/{digest.hex}"

    def _tag(self, tag: str) -> str:
        return f"{self._tags}/{tag}"

    def _referrers(self, subject: Digest) -> str:
        return f"{self._manifests}/referrers/{subject.algorithm}/{subject.hex}"

    def _referrer(self, subject: Digest, digest: Digest) -> str:
        return f"{self._referrers(subject)}/{digest.algorithm}/{digest.hex}"

    # -- the repository itself

    def exists(self) -> bool:
        """Whether the repository was created, explicitly or by a first push."""
        return (os.path.exists(self._record_path) or os.path.isdir(self._layers)
                or os.path.isdir(self._manifests))

    def info(self) -> RepositoryInfo:
        """Its settings; raise NAME_UNKNOWN when it does not exist."""
        try:
            return self._cache.get(self._record_path, self._load_record)
        except FileNotFoundError:
            if self.exists():  # made by an older version: content, no record
                return RepositoryInfo(self.name, _mtime_iso(self._dir))
            raise RegistryError("NAME_UNKNOWN", f"repository {self.name!r} not found",
                                {"name": self.name}) from None

    def _load_record(self, path: str) -> RepositoryInfo:
        record = json.loads(_read_text(path))
        return RepositoryInfo(self.name, record.get("createdAt", ""),
                              bool(record.get("immutable")), bool(record.get("public")),
                              tuple(record.get("lifecycle") or ()))

    def _write_record(self, info: RepositoryInfo, *, exclusive: bool = False) -> bool:
        data = json.dumps({"createdAt": info.created_at, "immutable": info.immutable,
                           "public": info.public, "lifecycle": list(info.lifecycle)},
                          indent=2).encode()
        self._cache.forget(self._record_path)
        if exclusive:
            return _create_exclusive(self._record_path, data)
        _atomic_write(self._record_path, data)
        return True

    def _ensure(self) -> None:
        """Record a repository created by its first push (default settings)."""
        if not os.path.exists(self._record_path):
            created = _mtime_iso(self._dir) if os.path.isdir(self._manifests) else _now_iso()
            self._write_record(RepositoryInfo(self.name, created), exclusive=True)

    def update(self, *, immutable: bool | None = None, public: bool | None = None,
               lifecycle: list[dict[str, Any]] | None = None) -> RepositoryInfo:
        """Change settings; None leaves one as it is. Raise NAME_UNKNOWN when absent."""
        info = self.info()
        info = RepositoryInfo(
            self.name, info.created_at,
            info.immutable if immutable is None else bool(immutable),
            info.public if public is None else bool(public),
            info.lifecycle if lifecycle is None else tuple(lifecycle))
        self._write_record(info)
        return info

    # -- blobs

    def stat_blob(self, digest: str | Digest) -> BlobInfo:
        """Info of a blob this repository may serve; raise BLOB_UNKNOWN otherwise."""
        digest = parse_digest(digest)
        try:
            os.stat(self._layer_link(digest))
            return BlobInfo(digest, os.stat(self._blobs.path(digest)).st_size)
        except FileNotFoundError:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)}) from None

    def has_blob(self, digest: str | Digest) -> bool:
        """Whether this repository may serve blob `digest`."""
        try:
            self.stat_blob(digest)
            return True
        except RegistryError:
            return False

    def open_blob(self, digest: str | Digest) -> tuple[BinaryIO, BlobInfo]:
        """An open file on the blob and its info; raise BLOB_UNKNOWN when not in this repository."""
        digest = parse_digest(digest)
        if not os.path.exists(self._layer_link(digest)):
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)})
        file = self._blobs.open(digest)
        return file, BlobInfo(digest, os.fstat(file.fileno()).st_size)

    def _link_blob(self, digest: Digest) -> None:
        link = self._layer_link(digest)
        if os.path.exists(link):
            return
        self._ensure()
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            fd = os.open(link, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            return
        try:
            os.write(fd, str(digest).encode())
        finally:
            os.close(fd)

    def mount_blob(self, digest: str | Digest, source: "Repository | None") -> BlobInfo | None:
        """Link an existing blob into this repository without an upload; None when impossible.

        With a `source` the blob must be linked there (so access to it is checked per
        repository); without one, any stored blob can be mounted (OCI 1.1 allows both).
        """
        digest = parse_digest(digest)
        if source is not None and not source.has_blob(digest):
            return None
        with self._storage.gc_lock.shared():
            info = self._blobs.touch(digest)
            if info is None:
                return None
            self._link_blob(digest)
        return info

    def put_blob(self, digest: str | Digest, chunks: Iterable[bytes], *,
                 expected_size: int | None = None) -> BlobInfo:
        """Store a whole blob in one go (a monolithic upload), verified, and link it here."""
        digest = parse_digest(digest)
        session = self._uploads.create(self.name)
        try:
            info = self._uploads.complete(session.id, self.name, digest, chunks,
                                          expected_size=expected_size,
                                          then=lambda: self._link_blob(digest))
        except BaseException:
            # An interrupted body leaves an orphan session nobody can resume; drop it now.
            try:
                self._uploads.cancel(session.id, self.name)
            except RegistryError:
                pass
            raise
        return info

    def delete_blob(self, digest: str | Digest) -> None:
        """Unlink a blob from this repository (its bytes go at the next garbage collection)."""
        digest = parse_digest(digest)
        if not _unlink(self._layer_link(digest)):
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)})

    def blob_links(self) -> list[Digest]:
        """Every blob linked into this repository."""
        links = []
        if os.path.isdir(self._layers):
            for algorithm in os.listdir(self._layers):
                directory = os.path.join(self._layers, algorithm)
                for name in os.listdir(directory):
                    if not name.startswith("."):
                        try:
                            links.append(Digest.parse(f"{algorithm}:{name}"))
                        except RegistryError:
                            continue
        return links

    # -- uploads

    def start_upload(self) -> UploadSession:
        """Open an upload session in this repository."""
        return self._uploads.create(self.name)

    def get_upload(self, upload_id: str) -> UploadSession:
        """The session `upload_id`; raise BLOB_UPLOAD_UNKNOWN when not one of this repository's."""
        return self._uploads.get(upload_id, self.name)

    def append_upload(self, upload_id: str, chunks: Iterable[bytes]) -> UploadSession:
        """Append `chunks` to the session; return it with its new offset."""
        return self._uploads.append(upload_id, self.name, chunks)

    def complete_upload(self, upload_id: str, digest: str | Digest, chunks: Iterable[bytes] = (),
                        *, expected_size: int | None = None) -> BlobInfo:
        """Finish the session with its last `chunks`; verify, commit and link the blob."""
        digest = parse_digest(digest)
        return self._uploads.complete(upload_id, self.name, digest, chunks,
                                      expected_size=expected_size,
                                      then=lambda: self._link_blob(digest))

    def cancel_upload(self, upload_id: str) -> None:
        """Abandon the session and delete what it received."""
        self._uploads.cancel(upload_id, self.name)

    # -- manifests

    def put_manifest(self, reference: str, body: bytes, content_type: str | None) -> ManifestInfo:
        """Store a manifest under `reference` (a tag or the digest of `body`).

        Accepted only when `body` is a JSON manifest of a supported media type and every blob
        (config, layers) or child manifest (for an index) it references is in this repository;
        a `subject` may name a manifest that is not there (yet). The digest is that of the exact
        bytes received. In an immutable repository an existing tag cannot be moved (DENIED).
        """
        target = parse_reference(reference)
        if len(body) > MAX_MANIFEST_BYTES:
            raise RegistryError("SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes",
                                {"size": len(body), "limit": MAX_MANIFEST_BYTES}, status=413)
        digest = Digest.of(body, target.algorithm if isinstance(target, Digest) else "sha256")
        if isinstance(target, Digest) and target != digest:
            raise RegistryError("DIGEST_INVALID", f"manifest digest is {digest}, not {target}",
                                {"digest": str(target)})
        parsed = _parse_manifest(body, content_type)
        immutable = False
        if isinstance(target, str):
            try:
                immutable = self.info().immutable
            except RegistryError:
                immutable = False
            if immutable:
                self._check_immutable(target, digest)

        with self._storage.gc_lock.shared():
            self._check_references(parsed)
            # Bytes, then the referrers entry, then the revision, then the tag: each step only
            # points at what is already durable, and a retry redoes whatever is missing.
            self._ensure()
            self._blobs.put_bytes(body, digest)
            info = ManifestInfo(digest, parsed.media_type, len(body), _now_iso(),
                                str(parsed.subject) if parsed.subject else None,
                                parsed.artifact_type, parsed.annotations, parsed.image_size)
            if parsed.subject is not None:
                referrer = self._referrer(parsed.subject, digest)
                if not os.path.exists(referrer):
                    _atomic_write(referrer, json.dumps(info.descriptor()).encode())
            revision = self._revision(digest)
            if os.path.exists(revision):
                info = self.stat_manifest(digest)  # keep the first push time
            else:
                self._cache.forget(revision)
                _atomic_write(revision, json.dumps(_revision_record(info)).encode())
            if isinstance(target, str):
                self._write_tag(target, digest, immutable)
        return info

    def _check_immutable(self, tag: str, digest: Digest) -> None:
        try:
            current = self.resolve(tag)
        except RegistryError:
            return
        if current != digest:
            raise _immutable_error(self.name, tag)

    def _write_tag(self, tag: str, digest: Digest, immutable: bool) -> None:
        path = self._tag(tag)
        data = str(digest).encode()
        if not immutable:
            _atomic_write(path, data)
            return
        # Create-if-absent, so two pushes racing for a new tag cannot both win.
        if not _create_exclusive(path, data) and self.resolve(tag) != digest:
            raise _immutable_error(self.name, tag)

    def _check_references(self, parsed: _ParsedManifest) -> None:
        missing = [str(d) for d in parsed.children if not os.path.exists(self._revision(d))]
        missing += [str(d) for d, media_type in parsed.blobs
                    if media_type not in _FOREIGN_LAYER_TYPES and not self.has_blob(d)]
        if missing:
            raise RegistryError("MANIFEST_BLOB_UNKNOWN",
                                f"manifest references {len(missing)} unknown blob(s): "
                                + ", ".join(missing), {"digests": missing})

    def resolve(self, reference: str | Digest) -> Digest:
        """The digest a tag points at (or the digest itself); raise MANIFEST_UNKNOWN if none."""
        target = reference if isinstance(reference, Digest) else lookup_reference(reference)
        if isinstance(target, Digest):
            return target
        try:
            # Read every time: tags move, and a few microseconds buy certainty across processes.
            return _load_tag(self._tag(target))
        except (FileNotFoundError, NotADirectoryError):
            raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {target!r}",
                                {"tag": target}) from None

    def stat_manifest(self, reference: str | Digest) -> ManifestInfo:
        """Info of the manifest a tag or digest names; raise MANIFEST_UNKNOWN otherwise."""
        digest = self.resolve(reference)
        try:
            return self._cache.get(self._revision(digest), _load_revision)
        except (FileNotFoundError, NotADirectoryError):
            raise RegistryError("MANIFEST_UNKNOWN", detail={"digest": str(digest)}) from None

    def get_manifest(self, reference: str | Digest) -> tuple[bytes, ManifestInfo]:
        """The exact bytes stored for a manifest, and its info."""
        info = self.stat_manifest(reference)
        return self._storage.manifest_bytes(info.digest), info

    def delete_manifest(self, reference: str | Digest) -> ManifestInfo:
        """Delete a manifest by digest: its tags, its referrers entry, then its revision."""
        digest = parse_reference(reference) if isinstance(reference, str) else reference
        if not isinstance(digest, Digest):
            raise RegistryError("UNSUPPORTED", "delete a tag with delete_tag")
        info = self.stat_manifest(digest)
        for tag, target in self._tag_targets():
            if target == digest:
                _unlink(self._tag(tag))
        if info.subject:
            subject = Digest.parse(info.subject)
            referrer = self._referrer(subject, digest)
            if _unlink(referrer):
                _remove_empty_parents(os.path.dirname(referrer),
                                      os.path.join(self._manifests, "referrers"))
        self._cache.forget(self._revision(digest))
        _unlink(self._revision(digest))
        return info

    def delete_tag(self, tag: str) -> Digest:
        """Remove tag `tag` (the manifest stays, reachable by digest)."""
        validate_tag(tag)
        digest = self.resolve(tag)
        if not _unlink(self._tag(tag)):
            raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {tag!r}", {"tag": tag})
        return digest

    def revisions(self) -> list[ManifestInfo]:
        """Every manifest stored in this repository."""
        found = []
        base = os.path.join(self._manifests, "revisions")
        if not os.path.isdir(base):
            return found
        for algorithm in os.listdir(base):
            for name in os.listdir(os.path.join(base, algorithm)):
                if name.startswith("."):
                    continue
                try:
                    found.append(self.stat_manifest(Digest.parse(f"{algorithm}:{name}")))
                except RegistryError:
                    continue
        return found

    # -- tags

    def _tag_targets(self) -> list[tuple[str, Digest]]:
        pairs = []
        if os.path.isdir(self._tags):
            for name in os.listdir(self._tags):
                if _TAG_RE.fullmatch(name):
                    try:
                        pairs.append((name, self.resolve(name)))
                    except RegistryError:
                        continue
        return pairs

    def tags(self) -> list[str]:
        """All tags in the spec's lexical order; raise NAME_UNKNOWN when the repository does not
        exist."""
        if not self.exists():
            raise RegistryError("NAME_UNKNOWN", f"repository {self.name!r} not found",
                                {"name": self.name})
        if not os.path.isdir(self._tags):
            return []
        return sorted((name for name in os.listdir(self._tags) if _TAG_RE.fullmatch(name)),
                      key=tag_sort_key)

    def tags_by_digest(self) -> dict[str, list[str]]:
        """digest -> its tags (sorted)."""
        result: dict[str, list[str]] = {}
        for tag, digest in self._tag_targets():
            result.setdefault(str(digest), []).append(tag)
        for tags in result.values():
            tags.sort(key=tag_sort_key)
        return result

    # -- referrers

    def referrers(self, subject: str | Digest, artifact_type: str | None = None
                  ) -> list[dict[str, Any]]:
        """Descriptors of the manifests here whose `subject` is `subject` (the referrers API)."""
        subject = parse_digest(subject)
        descriptors = []
        base = self._referrers(subject)
        if not os.path.isdir(base):
            return descriptors
        for algorithm in sorted(os.listdir(base)):
            for name in sorted(os.listdir(os.path.join(base, algorithm))):
                if name.startswith("."):
                    continue
                try:
                    info = self.stat_manifest(Digest.parse(f"{algorithm}:{name}"))
                except RegistryError:
                    continue  # the referrer entry outlived (or predates) its revision
                if artifact_type is None or info.artifact_type == artifact_type:
                    descriptors.append(info.descriptor())
        return descriptors

    def ensure_referrer(self, info: ManifestInfo) -> bool:
        """Recreate the referrers entry of a manifest with a subject; True when it was missing."""
        if not info.subject:
            return False
        referrer = self._referrer(Digest.parse(info.subject), info.digest)
        if os.path.exists(referrer):
            return False
        _atomic_write(referrer, json.dumps(info.descriptor()).encode())
        return True

    # -- images (ECR's view)

    def images(self) -> list[ImageInfo]:
        """Every manifest with its tags, size and push time, newest first."""
        if not self.exists():
            raise RegistryError("NAME_UNKNOWN", f"repository {self.name!r} not found",
                                {"name": self.name})
        tags = self.tags_by_digest()
        images = []
        for info in self.revisions():
            children: list[str] = []
            if info.media_type in _INDEX_MEDIA_TYPES:
                try:
                    _, child_digests = manifest_references(
                        self._storage.manifest_bytes(info.digest))
                    children = [str(d) for d in child_digests]
                except RegistryError:
                    pass
            images.append(ImageInfo(str(info.digest), info.media_type, info.size,
                                    info.image_size, info.pushed_at, tags.get(str(info.digest), []),
                                    info.artifact_type, info.subject, children))
        images.sort(key=lambda image: (image.pushed_at, image.digest), reverse=True)
        return images


def _immutable_error(name: str, tag: str) -> RegistryError:
    return RegistryError(
        "DENIED", f"tag {tag!r} already exists in repository {name!r}, whose tags are immutable; "
        "push under a new tag", {"name": name, "tag": tag, "reason": "TAG_IMMUTABLE"})


def _load_tag(path: str) -> Digest:
    return Digest.parse(_read_text(path).strip())


def _revision_record(info: ManifestInfo) -> dict[str, Any]:
    record: dict[str, Any] = {"digest": str(info.digest), "mediaType": info.media_type,
                              "size": info.size, "pushedAt": info.pushed_at,
                              "imageSize": info.image_size}
    if info.subject:
        record["subject"] = info.subject
    if info.artifact_type:
        record["artifactType"] = info.artifact_type
    if info.annotations:
        record["annotations"] = info.annotations
    return record


def _load_revision(path: str) -> ManifestInfo:
    record = json.loads(_read_text(path))
    return ManifestInfo(Digest.parse(record["digest"]), record["mediaType"], record["size"],
                        record.get("pushedAt") or _mtime_iso(path), record.get("subject"),
                        record.get("artifactType"), record.get("annotations"),
                        record.get("imageSize", 0))


# ---------------------------------------------------------------------------------------------
# The facade


class Storage:
    """The registry's storage in one data directory (layout in the module docstring)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.gc_lock = GCLock(self.root / ".gc.lock")
        self.blobs = BlobStore(self.root / "blobs", self.gc_lock)
        self.uploads = UploadStore(self.root / "uploads", self.blobs)
        self._repositories = str(self.root / "repositories")
        self._trash = self.root / "trash"
        self._cache = StatCache()
        self._repository_objects: dict[str, Repository] = {}
        # Manifest bytes by digest: content-addressed, so never stale; bounded.
        self._manifest_bytes: dict[Digest, bytes] = {}
        self._manifest_bytes_size = 0

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
        body = self._manifest_bytes.get(digest)
        if body is None:
            body = self.blobs.read(digest)
            if self._manifest_bytes_size + len(body) > 64 * 1024 * 1024:
                self._manifest_bytes.clear()
                self._manifest_bytes_size = 0
            self._manifest_bytes[digest] = body
            self._manifest_bytes_size += len(body)
        return body

    # -- repositories (ECR's create/describe/delete)

    def create_repository(self, name: str, *, immutable: bool = False,
                          public: bool = False) -> RepositoryInfo:
        """Create an empty repository with settings; REPOSITORY_EXISTS when it exists."""
        repository = self.repository(name)
        info = RepositoryInfo(name, _now_iso(), immutable, public)
        if repository.exists() or not repository._write_record(info, exclusive=True):
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
        trash = self._trash / uuid.uuid4().hex
        trash.mkdir(parents=True)
        # Manifests first: from then on the repository shows nothing.
        for entry in ("_manifests", "_layers", _REPOSITORY_RECORD):
            source = os.path.join(repository._dir, entry)
            try:
                os.rename(source, trash / entry)
            except FileNotFoundError:
                pass
        self._cache.forget(repository._record_path)
        self._repository_objects.pop(name, None)
        _remove_empty_parents(repository._dir, self._repositories)
        shutil.rmtree(trash, ignore_errors=True)

    def repositories(self) -> list[str]:
        """Every repository name, sorted."""
        names: list[str] = []
        root = self._repositories
        if not os.path.isdir(root):
            return names
        for directory, subdirs, files in os.walk(root):
            entries = set(subdirs) | set(files)
            if entries & {"_manifests", "_layers", _REPOSITORY_RECORD}:
                names.append(os.path.relpath(directory, root).replace(os.sep, "/"))
            subdirs[:] = [d for d in subdirs if not d.startswith(("_", "."))]
        return sorted(names)

    def empty_trash(self) -> None:
        """Remove what a crash left in the trash (deleted repositories)."""
        if self._trash.is_dir():
            for entry in os.listdir(self._trash):
                shutil.rmtree(self._trash / entry, ignore_errors=True)
