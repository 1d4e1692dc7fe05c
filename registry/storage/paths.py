'''The on-disk layout, written once: nothing else in the registry spells a storage path.

Every function returns a driver path (relative, `/`-separated) built from already validated
parts (`names`), so no path can leave its subtree::

    <data>/
    ├── .gc.lock                           lock: reference writers shared, GC's sweep exclusive
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

No digest, tag or name component can start with a dot or an underscore (see `names`), so the
`_layers` / `_manifests` / `_repository.json` entries cannot collide with a name component, and
dot-named temporary files of atomic writes cannot collide with anything.
'''

from __future__ import annotations

from registry.storage.names import Digest

__all__ = ["BLOBS", "GC_LOCK", "REPOSITORIES", "TRASH", "UPLOADS", "RepositoryPaths", "blob",
           "blob_algorithm", "blob_prefix", "child", "repository_name", "trash_entry", "upload",
           "upload_data", "upload_record"]

GC_LOCK = ".gc.lock"
BLOBS = "blobs"
REPOSITORIES = "repositories"
UPLOADS = "uploads"
TRASH = "trash"


def blob(digest: Digest) -> str:
    """Where blob `digest`'s bytes live."""
    return f"{BLOBS}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def upload(upload_id: str) -> str:
    """The directory of upload session `upload_id` (any entry of `UPLOADS`, by its name)."""
    return f"{UPLOADS}/{upload_id}"


def upload_data(upload_id: str) -> str:
    """The bytes an upload session received so far."""
    return f"{UPLOADS}/{upload_id}/data"


def upload_record(upload_id: str) -> str:
    """An upload session's record; the session exists while this file parses."""
    return f"{UPLOADS}/{upload_id}/record"


def trash_entry(token: str, entry: str | None = None) -> str:
    """A directory in the trash (named by a random hex token), or an `entry` of it."""
    return f"{TRASH}/{token}" if entry is None else f"{TRASH}/{token}/{entry}"


def child(directory: str, name: str) -> str:
    """The entry `name` (as a listing of `directory` returned it) of `directory`."""
    return f"{directory}/{name}"


class RepositoryPaths:
    """Every path of one repository (whose `name` was validated)."""

    # The entries that make a directory a repository; each one is moved to the trash on delete.
    RECORD = "_repository.json"
    LAYERS = "_layers"
    MANIFESTS = "_manifests"
    ENTRIES = (MANIFESTS, LAYERS, RECORD)  # in deletion order: manifests first

    def __init__(self, name: str) -> None:
        self.dir = f"{REPOSITORIES}/{name}"
        self.record = f"{self.dir}/{self.RECORD}"
        self.layers = f"{self.dir}/{self.LAYERS}"
        self.manifests = f"{self.dir}/{self.MANIFESTS}"
        self.revisions = f"{self.manifests}/revisions"
        self.tags = f"{self.manifests}/tags"
        self.referrers_root = f"{self.manifests}/referrers"

    def entry(self, entry: str) -> str:
        """One of `ENTRIES` of this repository."""
        return f"{self.dir}/{entry}"

    def layer_link(self, digest: Digest) -> str:
        """The link that lets this repository serve blob `digest`."""
        return f"{self.layers}/{digest.algorithm}/{digest.hex}"

    def layer_algorithm(self, algorithm: str) -> str:
        """The directory of this repository's links of one digest algorithm."""
        return f"{self.layers}/{algorithm}"

    def revision(self, digest: Digest) -> str:
        """The revision record of manifest `digest`."""
        return f"{self.revisions}/{digest.algorithm}/{digest.hex}"

    def revision_algorithm(self, algorithm: str) -> str:
        """The directory of revision records of one digest algorithm."""
        return f"{self.revisions}/{algorithm}"

    def tag(self, tag: str) -> str:
        """The file holding the digest tag `tag` points at."""
        return f"{self.tags}/{tag}"

    def referrers(self, subject: Digest) -> str:
        """The directory of descriptors of manifests whose subject is `subject`."""
        return f"{self.referrers_root}/{subject.algorithm}/{subject.hex}"

    def referrers_algorithm(self, subject: Digest, algorithm: str) -> str:
        """The referrers of `subject` whose own digest is of `algorithm`."""
        return f"{self.referrers(subject)}/{algorithm}"

    def referrer(self, subject: Digest, digest: Digest) -> str:
        """The descriptor of manifest `digest` among the referrers of `subject`."""
        return f"{self.referrers(subject)}/{digest.algorithm}/{digest.hex}"


def repository_name(directory: str) -> str:
    """The repository name of a directory below `REPOSITORIES` (the inverse of `dir`)."""
    return directory[len(REPOSITORIES) + 1:]


def blob_algorithm(algorithm: str) -> str:
    """The directory of blobs of one digest algorithm."""
    return f"{BLOBS}/{algorithm}"


def blob_prefix(algorithm: str, prefix: str) -> str:
    """The directory of blobs of one algorithm whose hex digest starts with `prefix`."""
    return f"{BLOBS}/{algorithm}/{prefix}"
