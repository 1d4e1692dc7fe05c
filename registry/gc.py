"""Garbage collection: keep every blob some manifest needs, delete the rest.

Mark and sweep over the whole data directory, safe while the registry serves pushes:

1. Mark, without any lock: every manifest revision of every repository (tagged or not,
   referrers included) marks its own bytes, its config and its layers. An index's children are
   revisions of the same repository, so they mark themselves.
2. Under the GC lock held exclusive (manifest puts, blob commits and mounts wait, nothing else
   does): mark the revisions that appeared since step 1, then sweep: delete every unmarked blob
   last written or used before `start - min_age`.

`start` is taken before step 1, so a blob uploaded during the run is never deleted, and
`min_age` (the grace period) protects blobs pushed shortly before a run whose manifest has not
arrived yet. A manifest put that loses the race to the sweep finds its blob gone and answers
MANIFEST_BLOB_UNKNOWN (the client uploads it again); it never makes an incomplete manifest
visible. Blob links in repositories are left alone: a link whose blob is gone serves 404.

    report = collect_garbage(Storage("/var/lib/skiff/registry"), dry_run=True)
    print(report.summary())
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from registry.errors import RegistryError
from registry.storage import Digest, Storage, manifest_references

__all__ = ["GCReport", "collect_garbage", "DEFAULT_MIN_AGE"]

log = logging.getLogger("skiff.registry.gc")

# Unreferenced blobs younger than this are kept: a push uploads layers before its manifest.
DEFAULT_MIN_AGE = 3600.0


@dataclass
class GCReport:
    """What a collection found and did (or, with `dry_run`, would do)."""

    dry_run: bool
    repositories: int = 0
    manifests: int = 0
    blobs: int = 0
    marked: int = 0
    deleted: list[tuple[str, int]] = field(default_factory=list)  # (digest, size)
    kept_recent: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)  # (repository, digest)
    referrers_repaired: int = 0

    @property
    def freed_bytes(self) -> int:
        return sum(size for _, size in self.deleted)

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        text = (f"{self.repositories} repositories, {self.manifests} manifests, "
                f"{self.blobs} blobs: {self.marked} in use, {verb} {len(self.deleted)} ({self.freed_bytes} bytes), "
                f"kept {self.kept_recent} unreferenced but recent")
        if self.missing:
            text += f"; {len(self.missing)} manifest(s) whose bytes are missing"
        return text


def collect_garbage(storage: Storage, *, dry_run: bool = False,
                    min_age: float = DEFAULT_MIN_AGE) -> GCReport:
    """Delete blobs no manifest references (see the module docstring); return the report."""
    start = time.time()
    cutoff = start - max(min_age, 0.0)
    report = GCReport(dry_run)
    marked: set[Digest] = set()
    seen: set[tuple[str, Digest]] = set()

    _mark(storage, marked, seen, report, repair=not dry_run)
    with storage.gc_lock.exclusive():
        _mark(storage, marked, seen, report, repair=not dry_run)
        for digest, info in storage.blobs.walk():
            report.blobs += 1
            if digest in marked:
                report.marked += 1
                continue
            if info.mtime >= cutoff:
                report.kept_recent += 1
                continue
            report.deleted.append((str(digest), info.size))
            if not dry_run:
                storage.blobs.delete(digest)
    if not dry_run:
        storage.remove_leftovers(cutoff)
    log.info("garbage collection%s: %s", " (dry run)" if dry_run else "", report.summary())
    return report


def _mark(storage: Storage, marked: set[Digest], seen: set[tuple[str, Digest]],
          report: GCReport, *, repair: bool) -> None:
    names = storage.repositories()
    report.repositories = len(names)
    for name in names:
        repository = storage.repository(name)
        for info in repository.revisions():
            if (name, info.digest) in seen:
                continue
            seen.add((name, info.digest))
            report.manifests += 1
            marked.add(info.digest)
            try:
                body = storage.blobs.read(info.digest)
            except RegistryError:
                report.missing.append((name, str(info.digest)))
                continue
            blobs, _children = manifest_references(body)
            marked.update(blobs)
            if repair and repository.ensure_referrer(info):
                report.referrers_repaired += 1
