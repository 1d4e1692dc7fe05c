"""Garbage collection: what is kept, what goes, and safety while pushes go on."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from registry.errors import RegistryError
from registry.gc import collect_garbage
from registry.server import RegistryServer
from registry.storage import Digest, Storage
from tests.registry.helpers import (
    EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, Client, descriptor, image_manifest,
    index_manifest, make_image, push_image, sha256, verify_pullable)


def push(storage: Storage, name: str, tag: str | None, seed: str) -> tuple[str, list[str]]:
    """Push an image through the storage API; (manifest digest, blob digests)."""
    image = make_image(seed)
    repository = storage.repository(name)
    blobs = [str(repository.put_blob(sha256(b), [b]).digest) for b in image.blobs]
    repository.put_manifest(tag or image.digest, image.manifest, OCI_MANIFEST)
    return image.digest, blobs


def stored(storage: Storage) -> set[str]:
    return {str(digest) for digest, _ in storage.blobs.walk()}


def age(storage: Storage, digests: list[str], seconds: float = 7200) -> None:
    """Make blobs look `seconds` old (as if pushed long ago)."""
    stamp = time.time() - seconds
    for digest in digests:
        os.utime(storage.driver.local(storage.blobs.path(Digest.parse(digest))), (stamp, stamp))


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "data")


def test_referenced_blobs_stay_and_orphans_go(storage: Storage) -> None:
    kept_manifest, kept_blobs = push(storage, "team/app", "v1", "kept")
    untagged_manifest, untagged_blobs = push(storage, "team/app", None, "untagged")
    orphan = str(storage.repository("team/app").put_blob(sha256(b"orphan"), [b"orphan"]).digest)
    age(storage, list(stored(storage)))

    report = collect_garbage(storage, min_age=60)
    assert [d for d, _ in report.deleted] == [orphan]
    assert report.freed_bytes == len(b"orphan")
    # Untagged manifests are still pullable by digest (ECR keeps them too), so they stay.
    assert stored(storage) == {kept_manifest, untagged_manifest, *kept_blobs, *untagged_blobs}


def test_dry_run_deletes_nothing(storage: Storage) -> None:
    storage.repository("app").put_blob(sha256(b"orphan"), [b"orphan"])
    age(storage, list(stored(storage)))
    before = stored(storage)
    report = collect_garbage(storage, dry_run=True, min_age=60)
    assert [d for d, _ in report.deleted] == [sha256(b"orphan")]
    assert stored(storage) == before


def test_recent_unreferenced_blobs_are_kept_for_the_grace_period(storage: Storage) -> None:
    # A push uploads its layers before its manifest: a fresh orphan may be about to be used.
    storage.repository("app").put_blob(sha256(b"just pushed"), [b"just pushed"])
    report = collect_garbage(storage, min_age=3600)
    assert report.deleted == [] and report.kept_recent == 1
    assert collect_garbage(storage, min_age=0).deleted == [(sha256(b"just pushed"), 11)]


def test_deleted_repository_and_manifest_free_their_blobs(storage: Storage) -> None:
    _, gone_blobs = push(storage, "gone", "v1", "gone")
    manifest, blobs = push(storage, "stays", "v1", "stays")
    shared = push(storage, "gone", "v2", "stays")  # same content as "stays": must survive
    deleted_manifest, deleted_blobs = push(storage, "stays", "old", "old")
    storage.delete_repository("gone", force=True)
    storage.repository("stays").delete_manifest(deleted_manifest)
    age(storage, list(stored(storage)))

    collect_garbage(storage, min_age=60)
    assert stored(storage) == {manifest, *blobs}
    assert shared[0] == manifest
    assert not stored(storage) & {deleted_manifest, *deleted_blobs, *gone_blobs}


def test_index_children_and_referrers_keep_their_blobs(storage: Storage) -> None:
    child, child_blobs = push(storage, "app", None, "child")
    child_body = storage.repository("app").get_manifest(child)[0]
    index = index_manifest([(child_body, OCI_MANIFEST, {"os": "linux", "architecture": "amd64"})])
    storage.repository("app").put_manifest("multi", index, OCI_INDEX)
    repository = storage.repository("app")
    repository.put_blob(sha256(EMPTY_JSON), [EMPTY_JSON])
    repository.put_blob(sha256(b"signature"), [b"signature"])
    referrer = image_manifest(EMPTY_JSON, [b"signature"], config_type=OCI_EMPTY,
                              subject=descriptor(OCI_INDEX, index))
    repository.put_manifest(sha256(referrer), referrer, OCI_MANIFEST)
    age(storage, list(stored(storage)))

    report = collect_garbage(storage, min_age=60)
    assert report.deleted == []
    assert {child, sha256(index), sha256(referrer), sha256(b"signature"),
            *child_blobs} <= stored(storage)


def test_blob_uploaded_during_the_run_is_never_deleted(storage: Storage,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes go on while GC marks: what arrives meanwhile (even unreferenced) survives."""
    original = Storage.repositories
    uploaded: list[str] = []

    def repositories_with_a_push_in_between(self: Storage) -> list[str]:
        if not uploaded:
            data = b"arrived while marking"
            self.repository("app").put_blob(sha256(data), [data])
            uploaded.append(sha256(data))
        return original(self)

    monkeypatch.setattr(Storage, "repositories", repositories_with_a_push_in_between)
    report = collect_garbage(storage, min_age=0)
    assert uploaded and uploaded[0] in stored(storage)
    assert report.deleted == []


def test_manifest_pushed_during_the_mark_keeps_its_blobs(storage: Storage,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Old blobs referenced by a manifest that appears after the first mark pass survive: the
    final pass, under the exclusive lock, marks it."""
    image = make_image("late manifest")
    repository = storage.repository("app")
    for blob in image.blobs:
        repository.put_blob(sha256(blob), [blob])
    age(storage, list(stored(storage)))  # uploaded long ago, manifest not pushed yet
    real_exclusive = storage.gc_lock.exclusive
    pushed = []

    def push_then_lock():  # type: ignore[no-untyped-def]
        repository.put_manifest("v1", image.manifest, OCI_MANIFEST)  # between the passes
        pushed.append(True)
        return real_exclusive()

    monkeypatch.setattr(storage.gc_lock, "exclusive", push_then_lock)
    report = collect_garbage(storage, min_age=0)
    assert pushed and report.deleted == []
    assert repository.get_manifest("v1")[0] == image.manifest
    assert all(repository.has_blob(sha256(blob)) for blob in image.blobs)


def test_manifest_put_after_the_sweep_fails_cleanly(storage: Storage) -> None:
    """A manifest whose old, unreferenced blobs were swept is refused, never made visible."""
    image = make_image("swept")
    repository = storage.repository("app")
    for blob in image.blobs:
        repository.put_blob(sha256(blob), [blob])
    age(storage, list(stored(storage)))
    collect_garbage(storage, min_age=60)
    with pytest.raises(RegistryError) as err:
        repository.put_manifest("v1", image.manifest, OCI_MANIFEST)
    assert err.value.code == "MANIFEST_BLOB_UNKNOWN"
    assert repository.tags() == []
    # The same push, retried, works: the blobs are uploaded again.
    for blob in image.blobs:
        repository.put_blob(sha256(blob), [blob])
    assert repository.put_manifest("v1", image.manifest, OCI_MANIFEST).digest


@pytest.mark.parametrize("min_age", [0.0, 600.0], ids=["no-grace", "grace"])
def test_gc_while_pushes_go_on_over_http(tmp_path: Path, min_age: float) -> None:
    """Threads push images (monolithic and chunked) while GC runs again and again.

    With a grace period every push succeeds and old orphans are still collected. With none, a
    push whose layers were swept before its manifest arrived is refused with
    MANIFEST_BLOB_UNKNOWN. Either way every visible manifest is complete and pullable.
    """
    with RegistryServer(tmp_path / "registry", port=0) as server:
        orphans = [str(server.storage.repository("gc/old").put_blob(
            sha256(f"orphan {i}".encode()), [f"orphan {i}".encode()]).digest) for i in range(5)]
        age(server.storage, orphans)
        stop = threading.Event()
        outcomes: list[tuple[str, int, str]] = []
        errors: list[BaseException] = []
        runs: list[int] = []

        def pusher(worker: int) -> None:
            client = Client(server.port)
            try:
                for n in range(12):
                    image = make_image(f"w{worker}-{n}", (3000, 5000))
                    reply = push_image(client, f"gc/w{worker}", f"t{n}", image,
                                       chunked=n % 2 == 1, chunk=2048)
                    code = reply.error_code() if reply.status != 201 else ""
                    outcomes.append((f"gc/w{worker}", reply.status, code))
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                client.close()

        def collector() -> None:
            while not stop.is_set():
                collect_garbage(server.storage, min_age=min_age)
                runs.append(1)

        gc_thread = threading.Thread(target=collector)
        pushers = [threading.Thread(target=pusher, args=(w,)) for w in range(3)]
        gc_thread.start()
        for thread in pushers:
            thread.start()
        for thread in pushers:
            thread.join(120)
        stop.set()
        gc_thread.join(60)
        assert not errors, errors
        assert len(outcomes) == 36 and len(runs) > 1
        if min_age:
            assert all(status == 201 for _, status, _ in outcomes), outcomes
        else:
            assert all(status == 201 or code == "MANIFEST_BLOB_UNKNOWN"
                       for _, status, code in outcomes), outcomes
        assert not set(orphans) & stored(server.storage)
        client = Client(server.port)
        for name in {name for name, _, _ in outcomes}:
            for tag in client.request("GET", f"/v2/{name}/tags/list").json()["tags"]:
                verify_pullable(client, name, tag)
        client.close()
