"""Layer 3: one repository's view of the storage: its settings record, which blobs it may
serve (links), its manifest revisions, its tags and its referrers index.

Write order keeps every visible thing complete after a crash at any point: blob bytes, then the
repository's link; manifest bytes, then its referrers entry, then its revision record, then the
tag. A retried push rewrites whatever step is missing. Records, tags and revisions are written
atomically (readers see the old file or the new one); blob links are only ever tested for
existence, so they are created in place. A blob's move into place and its link are made durable
by the manifest put that follows them (on a journaling filesystem the journal commits metadata
in order), which saves two directory fsyncs per layer.

Caches: revision records and repository settings are cached and re-validated with one `stat`
per read (written once, or replaced by this process, which forgets them); tags are read on
every resolve.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable

from registry.errors import RegistryError
from registry.storage.driver import FileInfo
from registry.storage.manifests import (
    FOREIGN_LAYER_TYPES, INDEX_MEDIA_TYPES, MAX_MANIFEST_BYTES, ParsedManifest, decode_revision,
    encode_revision, manifest_references, parse_manifest)
from registry.storage.names import (
    Digest, is_tag, lookup_reference, parse_digest, parse_reference, tag_sort_key, validate_name,
    validate_tag)
from registry.storage.paths import RepositoryPaths
from registry.storage.records import (
    BlobInfo, ImageInfo, ManifestInfo, RepositoryInfo, UploadSession, iso_time, now_iso)

if TYPE_CHECKING:
    from registry.storage.facade import Storage

__all__ = ["Repository"]


class Repository:
    """One repository's view of the storage. Build it with `Storage.repository(name)`."""

    def __init__(self, storage: "Storage", name: str) -> None:
        self.name = validate_name(name)
        self.paths = RepositoryPaths(name)
        self._storage = storage
        self._driver = storage.driver
        self._blobs = storage.blobs
        self._uploads = storage.uploads
        self._cache = storage.stat_cache

    # -- the repository itself

    def exists(self) -> bool:
        """Whether the repository was created, explicitly or by a first push."""
        return (self._driver.exists(self.paths.record) or self._is_dir(self.paths.layers)
                or self._is_dir(self.paths.manifests))

    def _is_dir(self, path: str) -> bool:
        info = self._driver.stat(path)
        return info is not None and info.is_dir

    def _mtime_iso(self, path: str) -> str:
        info = self._driver.stat(path)
        return iso_time(time.time() if info is None else info.mtime)

    def info(self) -> RepositoryInfo:
        """Its settings; raise NAME_UNKNOWN when it does not exist."""
        try:
            return self._cache.get(self.paths.record, self._load_record)
        except FileNotFoundError:
            if self.exists():  # made by an older version: content, no record
                return RepositoryInfo(self.name, self._mtime_iso(self.paths.dir))
            raise RegistryError("NAME_UNKNOWN", f"repository {self.name!r} not found",
                                {"name": self.name}) from None

    def _load_record(self, data: bytes, _info: FileInfo) -> RepositoryInfo:
        record = json.loads(data)
        return RepositoryInfo(self.name, record.get("createdAt", ""),
                              bool(record.get("immutable")), bool(record.get("public")),
                              tuple(record.get("lifecycle") or ()))

    def write_record(self, info: RepositoryInfo, *, exclusive: bool = False) -> bool:
        """Write the settings record; with `exclusive` only when there is none (True when this
        call wrote it)."""
        data = json.dumps({"createdAt": info.created_at, "immutable": info.immutable,
                           "public": info.public, "lifecycle": list(info.lifecycle)},
                          indent=2).encode()
        self._cache.forget(self.paths.record)
        if exclusive:
            return self._driver.put_new(self.paths.record, data)
        self._driver.put(self.paths.record, data)
        return True

    def forget(self) -> None:
        """Drop what this process cached of the repository (it is being deleted)."""
        self._cache.forget(self.paths.record)

    def _ensure(self) -> None:
        """Record a repository created by its first push (default settings)."""
        if not self._driver.exists(self.paths.record):
            created = (self._mtime_iso(self.paths.dir) if self._is_dir(self.paths.manifests)
                       else now_iso())
            self.write_record(RepositoryInfo(self.name, created), exclusive=True)

    def update(self, *, immutable: bool | None = None, public: bool | None = None,
               lifecycle: list[dict[str, Any]] | None = None) -> RepositoryInfo:
        """Change settings; None leaves one as it is. Raise NAME_UNKNOWN when absent."""
        info = self.info()
        info = RepositoryInfo(
            self.name, info.created_at,
            info.immutable if immutable is None else bool(immutable),
            info.public if public is None else bool(public),
            info.lifecycle if lifecycle is None else tuple(lifecycle))
        self.write_record(info)
        return info

    # -- blobs

    def stat_blob(self, digest: str | Digest) -> BlobInfo:
        """Info of a blob this repository may serve; raise BLOB_UNKNOWN otherwise."""
        digest = parse_digest(digest)
        info = self._blobs.stat(digest) if self._driver.exists(self.paths.layer_link(digest)) \
            else None
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
        """A reader of the blob and its info; raise BLOB_UNKNOWN when not in this repository."""
        digest = parse_digest(digest)
        if not self._driver.exists(self.paths.layer_link(digest)):
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)})
        return self._blobs.open(digest)

    def _link_blob(self, digest: Digest) -> None:
        link = self.paths.layer_link(digest)
        if self._driver.exists(link):
            return
        self._ensure()
        self._driver.create(link, str(digest).encode())

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
        if not self._driver.delete(self.paths.layer_link(digest)):
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": str(digest)})

    def blob_links(self) -> list[Digest]:
        """Every blob linked into this repository."""
        links = []
        for algorithm in self._driver.list(self.paths.layers):
            for name in self._driver.list(self.paths.layer_algorithm(algorithm)):
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
        parsed = parse_manifest(body, content_type)
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
            info = ManifestInfo(digest, parsed.media_type, len(body), now_iso(),
                                str(parsed.subject) if parsed.subject else None,
                                parsed.artifact_type, parsed.annotations, parsed.image_size)
            if parsed.subject is not None:
                referrer = self.paths.referrer(parsed.subject, digest)
                if not self._driver.exists(referrer):
                    self._driver.put(referrer, json.dumps(info.descriptor()).encode())
            revision = self.paths.revision(digest)
            if self._driver.exists(revision):
                info = self.stat_manifest(digest)  # keep the first push time
            else:
                self._cache.forget(revision)
                self._driver.put(revision, encode_revision(info))
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
        path = self.paths.tag(tag)
        data = str(digest).encode()
        if not immutable:
            self._driver.put(path, data)
            return
        # Create-if-absent, so two pushes racing for a new tag cannot both win.
        if not self._driver.put_new(path, data) and self.resolve(tag) != digest:
            raise _immutable_error(self.name, tag)

    def _check_references(self, parsed: ParsedManifest) -> None:
        missing = [str(d) for d in parsed.children
                   if not self._driver.exists(self.paths.revision(d))]
        missing += [str(d) for d, media_type in parsed.blobs
                    if media_type not in FOREIGN_LAYER_TYPES and not self.has_blob(d)]
        if missing:
            raise RegistryError("MANIFEST_BLOB_UNKNOWN",
                                f"manifest references {len(missing)} unknown blob(s): "
                                + ", ".join(missing), {"digests": missing})

    def resolve(self, reference: str | Digest) -> Digest:
        """The digest a tag points at (or the digest itself); raise MANIFEST_UNKNOWN if none
        (also for a string that is no valid tag: no manifest can be stored under it)."""
        target = reference if isinstance(reference, Digest) else lookup_reference(reference)
        if isinstance(target, Digest):
            return target
        try:
            # Read every time: tags move, and a few microseconds buy certainty across processes.
            return Digest.parse(self._driver.read(self.paths.tag(target)).decode().strip())
        except FileNotFoundError:
            raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {target!r}",
                                {"tag": target}) from None

    def stat_manifest(self, reference: str | Digest) -> ManifestInfo:
        """Info of the manifest a tag or digest names; raise MANIFEST_UNKNOWN otherwise."""
        digest = self.resolve(reference)
        try:
            return self._cache.get(self.paths.revision(digest), _load_revision)
        except FileNotFoundError:
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
                self._driver.delete(self.paths.tag(tag))
        if info.subject:
            subject = Digest.parse(info.subject)
            if self._driver.delete(self.paths.referrer(subject, digest)):
                self._driver.prune(self.paths.referrers_algorithm(subject, digest.algorithm),
                                   self.paths.referrers_root)
        revision = self.paths.revision(digest)
        self._cache.forget(revision)
        self._driver.delete(revision)
        return info

    def delete_tag(self, tag: str) -> Digest:
        """Remove tag `tag` (the manifest stays, reachable by digest)."""
        validate_tag(tag)
        digest = self.resolve(tag)
        if not self._driver.delete(self.paths.tag(tag)):
            raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {tag!r}", {"tag": tag})
        return digest

    def revisions(self) -> list[ManifestInfo]:
        """Every manifest stored in this repository."""
        found = []
        for algorithm in self._driver.list(self.paths.revisions):
            for name in self._driver.list(self.paths.revision_algorithm(algorithm)):
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
        for name in self._driver.list(self.paths.tags):
            if is_tag(name):
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
        return sorted((name for name in self._driver.list(self.paths.tags) if is_tag(name)),
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
        for algorithm in self._driver.list(self.paths.referrers(subject)):
            for name in self._driver.list(self.paths.referrers_algorithm(subject, algorithm)):
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
        referrer = self.paths.referrer(Digest.parse(info.subject), info.digest)
        if self._driver.exists(referrer):
            return False
        self._driver.put(referrer, json.dumps(info.descriptor()).encode())
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
            if info.media_type in INDEX_MEDIA_TYPES:
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


def _load_revision(data: bytes, info: FileInfo) -> ManifestInfo:
    return decode_revision(data, iso_time(info.mtime))
