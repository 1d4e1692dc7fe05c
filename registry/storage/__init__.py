"""Content-addressed storage for the registry. Imports nothing from HTTP.

Layers, as in distribution/distribution, each a module of one concern::

    facade       Storage: repositories created, listed, deleted; shared caches and GC lock
    repository   one name's view: settings, blob links, manifest revisions, tags, referrers
    uploads      upload sessions (id, repository, offset, started): resumable, purgeable
    blobs        global content-addressed bytes: verified, then moved into place
    manifests    media types, parsing and validation (pure), revision records
    names        the spec's grammars (names, tags, digests, upload ids)
    records      plain values handed to the layers above
    cache, locks what the layers share: caches of small files, the lock against GC
    paths        the on-disk layout, drawn as a tree and spelled nowhere else
    driver       the seam: StorageDriver, the primitive byte storage all of the above uses
    filesystem   FilesystemDriver (what the registry runs on)
    memory       InMemoryDriver (a whole registry in one process)

Invariant: a blob is visible only after its digest was verified and it was moved into place in
one step; an interrupted upload never leaves a corrupt or partial blob visible.

    storage = Storage("/var/lib/skiff/registry")      # or Storage(driver=InMemoryDriver())
    app = storage.repository("team/app")
    app.put_blob(digest, [layer_bytes])
    app.put_manifest("latest", manifest_bytes, OCI_MANIFEST)
    body, info = app.get_manifest("latest")
"""

from registry.storage.blobs import BlobStore
from registry.storage.driver import FileInfo, StorageDriver
from registry.storage.facade import Storage
from registry.storage.filesystem import FilesystemDriver
from registry.storage.locks import GCLock
from registry.storage.manifests import (
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, OCI_EMPTY,
    OCI_INDEX, OCI_MANIFEST, manifest_references)
from registry.storage.memory import InMemoryDriver
from registry.storage.names import (
    Digest, lookup_reference, parse_digest, parse_reference, tag_sort_key, validate_name,
    validate_tag)
from registry.storage.records import (
    BlobInfo, ImageInfo, ManifestInfo, RepositoryInfo, UploadSession)
from registry.storage.repository import Repository
from registry.storage.uploads import UploadStore

__all__ = [
    "BlobInfo", "BlobStore", "Digest", "FileInfo", "FilesystemDriver", "GCLock", "ImageInfo",
    "InMemoryDriver", "ManifestInfo", "Repository", "RepositoryInfo", "Storage",
    "StorageDriver", "UploadSession", "UploadStore", "MANIFEST_MEDIA_TYPES",
    "MAX_MANIFEST_BYTES", "OCI_EMPTY", "OCI_INDEX", "OCI_MANIFEST", "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST", "lookup_reference", "manifest_references", "parse_digest",
    "parse_reference", "tag_sort_key", "validate_name", "validate_tag",
]
