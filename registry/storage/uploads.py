"""Layer 2: upload sessions under `uploads/<uuid>`, each ending in a verified blob commit.

A session is an explicit record (id, repository, offset, started): `create` writes it, `get`
reads it back (in this process or after a restart: sessions are resumable), `append` grows it,
and it ends in `complete` (its data becomes a blob), `cancel`, or `purge` (abandoned sessions).
Its data is never visible as a blob unless `complete` verified it.
"""

from __future__ import annotations

import builtins  # UploadStore has a `list` method: annotations after it say builtins.list
import hashlib
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from registry.errors import RegistryError
from registry.storage import paths
from registry.storage.blobs import BlobStore
from registry.storage.driver import StorageDriver
from registry.storage.names import Digest, is_upload_id, validate_name
from registry.storage.records import BlobInfo, UploadSession

__all__ = ["UploadStore"]


class UploadStore:
    """Upload sessions; each ends in a verified blob commit, a cancel or a purge.

    Appends to one session are serialised by a per-session lock (the spec requires clients to
    upload chunks in order). A sha256 hasher per session follows the appends so that completing
    an upload needs no second read; after a restart or for sha512 the data is re-hashed. A
    session untouched for longer than a configured age is purged (`purge`).
    """

    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self._driver = driver
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
        self._driver.create(paths.upload_data(upload_id))
        # The record comes last: until it is whole, the session does not exist.
        self._driver.create(paths.upload_record(upload_id), json.dumps(
            {"repository": repository, "startedAt": started.isoformat()}).encode())
        with self._guard:
            self._records[upload_id] = (repository, started)
        return UploadSession(upload_id, repository, 0, started)

    def _record(self, upload_id: str) -> tuple[str, datetime]:
        record = self._records.get(upload_id)
        if record is None:
            try:
                document = json.loads(self._driver.read(paths.upload_record(upload_id)))
                record = (document["repository"], datetime.fromisoformat(document["startedAt"]))
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id}) from None
            with self._guard:
                self._records[upload_id] = record
        return record

    def get(self, upload_id: str, repository: str) -> UploadSession:
        """The session `upload_id` of `repository`; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        if not is_upload_id(upload_id):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"invalid upload id {upload_id!r}",
                                {"upload": str(upload_id)})
        owner, started = self._record(upload_id)
        data = self._driver.stat(paths.upload_data(upload_id))
        if data is None:
            with self._guard:  # ended by another process (a purge)
                self._records.pop(upload_id, None)
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id})
        if owner != repository:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id})
        return UploadSession(upload_id, owner, data.size, started)

    def list(self) -> list[UploadSession]:
        """Every complete session."""
        sessions = []
        for name in self._driver.list(paths.UPLOADS):
            if is_upload_id(name):
                try:
                    sessions.append(self.get(name, self._record(name)[0]))
                except RegistryError:
                    continue
        return sessions

    def last_activity(self, upload_id: str) -> float:
        """When the session last received bytes (or was created), as a Unix time."""
        stamps = [info.mtime for info in (self._driver.stat(paths.upload_data(upload_id)),
                                          self._driver.stat(paths.upload_record(upload_id)))
                  if info is not None]
        if not stamps:  # a directory a crash left without files
            info = self._driver.stat(paths.upload(upload_id))
            if info is not None:
                stamps.append(info.mtime)
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
                return self._blobs.commit(paths.upload_data(upload_id), digest,
                                          expected_size=expected_size, hexdigest=hexdigest,
                                          then=then)
            finally:
                self._remove(upload_id)

    def cancel(self, upload_id: str, repository: str) -> None:
        """Delete the session and its data; raise BLOB_UPLOAD_UNKNOWN when there is none."""
        with self._lock(upload_id):
            self.get(upload_id, repository)
            self._remove(upload_id)

    def purge(self, max_age: float, now: float | None = None) -> builtins.list[UploadSession]:
        """Delete sessions that received nothing for `max_age` seconds; return them.

        Also removes what a crash left half-made. A session in the middle of a request in this
        process is skipped, whatever its age.
        """
        now = time.time() if now is None else now
        purged = []
        for name in self._driver.list(paths.UPLOADS):
            if name.startswith("."):  # leftovers of older versions
                info = self._driver.stat(paths.upload(name))
                if info is not None and now - info.mtime > max_age:
                    self._driver.delete_tree(paths.upload(name))
                continue
            if not is_upload_id(name):
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
        try:
            written = self._driver.append(paths.upload_data(upload_id),
                                          chunks if hasher is None else _hashed(chunks, hasher))
        except FileNotFoundError:  # ended meanwhile by another process (a purge)
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"upload": upload_id}) from None
        # Only a clean append keeps the hasher; after a failure it may disagree with the data.
        if hasher is not None:
            with self._guard:
                self._hashers[upload_id] = (session.offset + written, hasher)
        return UploadSession(upload_id, repository, session.offset + written, session.started_at)

    def _remove(self, upload_id: str) -> None:
        with self._guard:
            self._hashers.pop(upload_id, None)
            self._locks.pop(upload_id, None)
            self._records.pop(upload_id, None)
        # The record first: from then on the session does not exist, whatever happens next.
        self._driver.delete(paths.upload_record(upload_id))
        self._driver.delete(paths.upload_data(upload_id))
        self._driver.delete_tree(paths.upload(upload_id))


def _hashed(chunks: Iterable[bytes], hasher: "hashlib._Hash") -> Iterator[bytes]:
    """`chunks`, fed to `hasher` on their way through."""
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
