"""Content-addressed filesystem storage for the registry. Imports nothing from HTTP.

Three layers over one data directory, as in distribution/distribution:

- `BlobStore`: global content-addressed bytes. A blob enters only through `commit`, which checks
  size and digest and then renames the file into place; nothing else writes under `blobs/`.
- `UploadStore`: upload sessions, explicit records (id, repository, offset, started) whose data
  grows by appends and which end in a commit to the `BlobStore`, a cancel, or (later) a purge.
- `Repository`: one name's view: which blobs it may serve (links), its manifest revisions and
  its tags. `Storage.repository(name)` validates the name before any path is built.

Layout (written once; nothing else in the package spells these paths)::

    <data>/
    ├── blobs/
    │   └── sha256/                        (or sha512/)
    │       └── ab/
    │           └── ab12…ef                blob bytes, named by their digest
    ├── repositories/
    │   └── team/app/                      the repository name, one directory per component
    │       ├── _layers/
    │       │   └── sha256/
    │       │       └── ab12…ef            link file: this repository may serve the blob
    │       └── _manifests/
    │           ├── revisions/
    │           │   └── sha256/
    │           │       └── cd34…01        JSON {digest, mediaType, size}; bytes in blobs/
    │           └── tags/
    │               └── latest             holds the digest of the manifest tagged "latest"
    └── uploads/
        └── <uuid>/
            ├── data                       bytes received so far (offset = its size)
            ├── repository                 the repository name the session belongs to
            └── startedat                  ISO 8601 UTC time the session was created

Small files (links, revisions, tags) are written to a dot-named temporary file in the same
directory, fsynced and `os.replace`d into place. No digest, tag or name component can start with
a dot (see the grammars below), so a reader never sees a half-written file, and the `_layers` /
`_manifests` directories cannot collide with a repository name component.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterable

from registry.errors import RegistryError

__all__ = [
    "BlobInfo", "BlobStore", "Digest", "ManifestInfo", "Repository", "Storage", "UploadSession",
    "UploadStore", "MANIFEST_MEDIA_TYPES", "MAX_MANIFEST_BYTES", "parse_digest", "parse_reference",
    "validate_name", "validate_tag",
]

# Grammars from the OCI Distribution Spec v1.1.
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
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
        if not isinstance(value, str) or not _DIGEST_RE.fullmatch(value):
            raise RegistryError("DIGEST_INVALID", f"invalid digest {value!r}",
                                {"digest": str(value)})
        algorithm, hexpart = value.split(":", 1)
        if algorithm not in _ALGORITHMS:
            raise RegistryError("DIGEST_INVALID", f"unsupported digest algorithm {algorithm!r}",
                                {"digest": value})
        if len(hexpart) != _ALGORITHMS[algorithm] or not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise RegistryError("DIGEST_INVALID", f"{algorithm} digest must be "
                                f"{_ALGORITHMS[algorithm]} lowercase hex digits", {"digest": value})
        return cls(algorithm, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        """The digest of `data`."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> "hashlib._Hash":
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


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


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its digest and size in bytes."""

    digest: Digest
    size: int


@dataclass(frozen=True)
class ManifestInfo:
    """A stored manifest revision: digest of its exact bytes, media type, size."""

    digest: Digest
    media_type: str
    size: int


@dataclass(frozen=True)
class UploadSession:
    """An upload in progress: `offset` bytes received so far, in repository `repository`."""

    id: str
    repository: str
    offset: int
    started_at: datetime


# ---------------------------------------------------------------------------------------------
# Filesystem helpers


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _hash_file(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Layer 1: global content-addressed blobs


class BlobStore:
    """Blobs by digest under `<data>/blobs`. A blob is visible only once verified and renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: Digest) -> Path:
        """Where blob `digest` lives (whether or not it exists)."""
        return self.root / digest.algorithm / digest.hex[:2] / digest.hex

    def stat(self, digest: Digest) -> BlobInfo | None:
        """The blob's info, or None when it is not stored."""
        try:
            return BlobInfo(digest, self.path(digest).stat().st_size)
        except FileNotFoundError:
            return None

    def open(self, digest: Digest) -> BinaryIO:
        """Open blob `digest` for reading; raise BLOB_UNKNOWN when it is not stored."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)}) from None

    def commit(self, src: Path, digest: Digest, *, expected_size: int | None = None,
               hexdigest: str | None = None) -> BlobInfo:
        """Make the file `src` visible as blob `digest` after checking its size and digest.

        `hexdigest` is the digest of `src` computed while it was written (saves reading it again);
        when None, the file is hashed here. On SIZE_INVALID or DIGEST_INVALID nothing becomes
        visible and `src` is left to the caller. `src` must be on the same filesystem.
        """
        size = src.stat().st_size
        if expected_size is not None and size != expected_size:
            raise RegistryError("SIZE_INVALID", f"received {size} bytes, expected {expected_size}",
                                {"size": size, "expected": expected_size})
        if hexdigest is None:
            hexdigest = _hash_file(src, digest.algorithm)
        if hexdigest != digest.hex:
            raise RegistryError("DIGEST_INVALID",
                                f"content digest is {digest.algorithm}:{hexdigest}, not {digest}",
                                {"digest": str(digest)})
        dest = self.path(digest)
        if dest.exists():
            # Same digest, same bytes: keep the file readers may already have open.
            src.unlink()
            return BlobInfo(digest, size)
        with open(src, "rb") as f:
            os.fsync(f.fileno())
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        _fsync_dir(dest.parent)
        return BlobInfo(digest, size)

    def put_bytes(self, data: bytes, digest: Digest) -> BlobInfo:
        """Store small content held in memory (manifests) as blob `digest`, verified."""
        if Digest.of(data, digest.algorithm) != digest:
            raise RegistryError("DIGEST_INVALID", f"content does not match {digest}",
                                {"digest": str(digest)})
        dest = self.path(digest)
        if not dest.exists():
            _atomic_write(dest, data)
        return BlobInfo(digest, len(data))


# ---------------------------------------------------------------------------------------------
# Layer 2: upload sessions


class UploadStore:
    """Upload sessions under `<data>/uploads/<uuid>`; each ends in a verified blob commit.

    Appends to one session are serialised by a per-session lock (the spec requires clients to
    upload chunks in order). A sha256 hasher per session follows the appends so that completing
    an upload needs no second read; after a restart or for sha512 the data file is re-hashed.
    """

    def __init__(self, root: Path, blobs: BlobStore) -> None:
        self.root = root
        self._blobs = blobs
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        # upload id -> (offset the hasher has seen, sha256 hasher)
        self._hashers: dict[str, tuple[int, "hashlib._Hash"]] = {}

    def create(self, repository: str) -> UploadSession:
        """Start a new, empty session for `repository`."""
        validate_name(repository)
        upload_id = str(uuid.uuid4())
        started = datetime.now(timezone.utc)
        # Build the record under a dot name and rename it, so a session is whole or absent.
        tmp = self.root / f".new-{upload_id}"
        tmp.mkdir(parents=True)
        (tmp / "data").touch()
        (tmp / "repository").write_text(repository)
        (tmp / "startedat").write_text(started.isoformat())
        os.rename(tmp, self.root / upload_id)
        return UploadSession(upload_id, repository, 0, started)

    def get(self, upload_id: str, repository: str) -> UploadSession:
        """The session `upload_id` of `repository`; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"invalid upload id {upload_id!r}",
                                {"upload": str(upload_id)})
        directory = self.root / upload_id
        try:
            owner = (directory / "repository").read_text()
            started = datetime.fromisoformat((directory / "startedat").read_text())
            offset = (directory / "data").stat().st_size
        except FileNotFoundError:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id}) from None
        if owner != repository:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id})
        return UploadSession(upload_id, owner, offset, started)

    def list(self) -> list[UploadSession]:
        """Every complete session on disk (for status and, later, purging stale ones)."""
        sessions = []
        if self.root.is_dir():
            for entry in sorted(self.root.iterdir()):
                if _UPLOAD_ID_RE.fullmatch(entry.name):
                    try:
                        repository = (entry / "repository").read_text()
                        sessions.append(self.get(entry.name, repository))
                    except (FileNotFoundError, RegistryError):
                        continue
        return sessions

    def append(self, upload_id: str, repository: str, chunks: Iterable[bytes]) -> UploadSession:
        """Append the bytes of `chunks` to the session and return it with its new offset.

        When `chunks` raises (the client went away), the bytes already written stay: the client
        can ask for the offset and resume. They are never visible as a blob.
        """
        with self._lock(upload_id):
            return self._append(upload_id, repository, chunks)

    def complete(self, upload_id: str, repository: str, digest: Digest,
                 chunks: Iterable[bytes] = (), *, expected_size: int | None = None) -> BlobInfo:
        """Append the last `chunks`, verify size and digest, and commit the data as a blob.

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
                return self._blobs.commit(self.root / upload_id / "data", digest,
                                          expected_size=expected_size, hexdigest=hexdigest)
            finally:
                self._remove(upload_id)

    def cancel(self, upload_id: str, repository: str) -> None:
        """Delete the session and its data; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        with self._lock(upload_id):
            self.get(upload_id, repository)
            self._remove(upload_id)

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
        with open(self.root / upload_id / "data", "ab") as f:
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
        directory = self.root / upload_id
        if directory.exists():
            # Rename first so a crash mid-delete leaves a dot entry, never a broken session.
            trash = self.root / f".del-{upload_id}"
            os.rename(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Layer 3: repositories (links, manifests, tags)


class Repository:
    """One repository's view of the storage. Build it with `Storage.repository(name)`."""

    def __init__(self, root: Path, name: str, blobs: BlobStore, uploads: UploadStore) -> None:
        self.name = validate_name(name)
        self._dir = root.joinpath(*name.split("/"))
        self._blobs = blobs
        self._uploads = uploads

    # -- paths (the only place they are spelled)

    def _layer_link(self, digest: Digest) -> Path:
        return self._dir / "_layers" / digest.algorithm / digest.hex

    def _revision(self, digest: Digest) -> Path:
        return self._dir / "_manifests" / "revisions" / digest.algorithm / digest.hex

    def _tag(self, tag: str) -> Path:
        return self._dir / "_manifests" / "tags" / tag

    def exists(self) -> bool:
        """Whether anything (a blob link or a manifest) was ever stored in this repository."""
        return (self._dir / "_layers").is_dir() or (self._dir / "_manifests").is_dir()

    # -- blobs

    def stat_blob(self, digest: str | Digest) -> BlobInfo:
        """Info of a blob this repository may serve; raise BLOB_UNKNOWN otherwise."""
        digest = parse_digest(digest)
        info = self._blobs.stat(digest) if self._layer_link(digest).exists() else None
        if info is None:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)})
        return info

    def has_blob(self, digest: str | Digest) -> bool:
        """Whether this repository may serve blob `digest`."""
        try:
            self.stat_blob(digest)
            return True
        except RegistryError:
            return False

    def open_blob(self, digest: str | Digest) -> tuple[BinaryIO, BlobInfo]:
        """An open file on the blob and its info; raise BLOB_UNKNOWN when not in this repository."""
        info = self.stat_blob(digest)
        return self._blobs.open(info.digest), info

    def _link_blob(self, digest: Digest) -> None:
        link = self._layer_link(digest)
        if not link.exists():
            _atomic_write(link, str(digest).encode())

    def mount_blob(self, digest: str | Digest, source: "Repository | None") -> BlobInfo | None:
        """Link an existing blob into this repository without an upload; None when impossible.

        With a `source` the blob must be linked there (so access to it can later be checked
        per repository); without one, any stored blob can be mounted (OCI 1.1 allows both).
        """
        digest = parse_digest(digest)
        if source is not None and not source.has_blob(digest):
            return None
        info = self._blobs.stat(digest)
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
                                          expected_size=expected_size)
        except BaseException:
            # An interrupted body leaves an orphan session nobody can resume; drop it now.
            try:
                self._uploads.cancel(session.id, self.name)
            except RegistryError:
                pass
            raise
        self._link_blob(digest)
        return info

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
        info = self._uploads.complete(upload_id, self.name, digest, chunks,
                                      expected_size=expected_size)
        self._link_blob(digest)
        return info

    def cancel_upload(self, upload_id: str) -> None:
        """Abandon the session and delete what it received."""
        self._uploads.cancel(upload_id, self.name)

    # -- manifests

    def put_manifest(self, reference: str, body: bytes, content_type: str | None) -> ManifestInfo:
        """Store a manifest under `reference` (a tag or the digest of `body`).

        Accepted only when `body` is a JSON manifest of a supported media type and every blob
        (config, layers) or child manifest (for an index) it references is in this repository.
        The digest is that of the exact bytes received.
        """
        target = parse_reference(reference)
        if len(body) > MAX_MANIFEST_BYTES:
            raise RegistryError("SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes",
                                {"size": len(body)})
        digest = Digest.of(body, target.algorithm if isinstance(target, Digest) else "sha256")
        if isinstance(target, Digest) and target != digest:
            raise RegistryError("DIGEST_INVALID", f"manifest digest is {digest}, not {target}",
                                {"digest": str(target)})
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RegistryError("MANIFEST_INVALID", f"manifest is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise RegistryError("MANIFEST_INVALID", "manifest must be a JSON object")
        media_type = _manifest_media_type(document, content_type)
        self._check_references(document, media_type)

        # Bytes, then the revision, then the tag: each step only points at what is durable.
        self._blobs.put_bytes(body, digest)
        info = ManifestInfo(digest, media_type, len(body))
        revision = self._revision(digest)
        if not revision.exists():
            _atomic_write(revision, json.dumps(
                {"digest": str(digest), "mediaType": media_type, "size": len(body)}).encode())
        if isinstance(target, str):
            _atomic_write(self._tag(target), str(digest).encode())
        return info

    def _check_references(self, document: dict, media_type: str) -> None:
        if document.get("schemaVersion") != 2:
            raise RegistryError("MANIFEST_INVALID", "schemaVersion must be 2",
                                {"field": "schemaVersion"})
        missing = []
        if media_type in _INDEX_MEDIA_TYPES:
            for i, child in enumerate(_descriptor_list(document, "manifests")):
                digest = _descriptor_digest(child, f"manifests[{i}]")
                if not self._revision(digest).exists():
                    missing.append(str(digest))
        else:
            config = document.get("config")
            layers = _descriptor_list(document, "layers")
            descriptors = [("config", config)] + [
                (f"layers[{i}]", layer) for i, layer in enumerate(layers)]
            for field, descriptor in descriptors:
                digest = _descriptor_digest(descriptor, field)
                if descriptor.get("mediaType") in _FOREIGN_LAYER_TYPES:
                    continue
                if not self.has_blob(digest):
                    missing.append(str(digest))
        if missing:
            raise RegistryError("MANIFEST_BLOB_UNKNOWN",
                                f"manifest references {len(missing)} unknown blob(s): "
                                + ", ".join(missing), {"digests": missing})

    def resolve(self, reference: str | Digest) -> Digest:
        """The digest a tag points at (or the digest itself); raise MANIFEST_UNKNOWN if none."""
        target = reference if isinstance(reference, Digest) else parse_reference(reference)
        if isinstance(target, Digest):
            return target
        try:
            return Digest.parse(self._tag(target).read_text().strip())
        except FileNotFoundError:
            raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {target!r}",
                                {"tag": target}) from None

    def stat_manifest(self, reference: str | Digest) -> ManifestInfo:
        """Info of the manifest a tag or digest names; raise MANIFEST_UNKNOWN otherwise."""
        digest = self.resolve(reference)
        try:
            record = json.loads(self._revision(digest).read_text())
        except FileNotFoundError:
            raise RegistryError("MANIFEST_UNKNOWN", detail={"digest": str(digest)}) from None
        return ManifestInfo(digest, record["mediaType"], record["size"])

    def get_manifest(self, reference: str | Digest) -> tuple[bytes, ManifestInfo]:
        """The exact bytes stored for a manifest, and its info."""
        info = self.stat_manifest(reference)
        with self._blobs.open(info.digest) as f:
            return f.read(), info

    # -- tags

    def tags(self) -> list[str]:
        """All tags, in lexical order; raise NAME_UNKNOWN when the repository does not exist."""
        if not self.exists():
            raise RegistryError("NAME_UNKNOWN", detail={"name": self.name})
        directory = self._dir / "_manifests" / "tags"
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if _TAG_RE.fullmatch(p.name))


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


def _descriptor_list(document: dict, field: str) -> list:
    value = document.get(field)
    if not isinstance(value, list):
        raise RegistryError("MANIFEST_INVALID", f"{field} must be a list", {"field": field})
    return value


def _descriptor_digest(descriptor: object, field: str) -> Digest:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise RegistryError("MANIFEST_INVALID", f"{field} must be a descriptor with a digest",
                            {"field": field})
    try:
        return Digest.parse(descriptor["digest"])
    except RegistryError as exc:
        raise RegistryError("DIGEST_INVALID", f"{field}.digest: {exc.message}",
                            {"field": field, "digest": descriptor["digest"]}) from None


# ---------------------------------------------------------------------------------------------
# The facade


class Storage:
    """The registry's storage in one data directory (layout in the module docstring)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.root / "blobs")
        self.uploads = UploadStore(self.root / "uploads", self.blobs)
        self._repositories = self.root / "repositories"

    def repository(self, name: str) -> Repository:
        """The repository `name` (which may not exist yet); raise NAME_INVALID for a bad name."""
        return Repository(self._repositories, name, self.blobs, self.uploads)
