"""One contract, every storage driver: FilesystemDriver on a temp directory, InMemoryDriver.

Each test states a pre- or postcondition of `registry.storage.driver.StorageDriver` that the
layers above rely on; the last ones run the whole storage over each driver.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from registry.errors import RegistryError
from registry.storage import (
    OCI_MANIFEST, FilesystemDriver, InMemoryDriver, Storage, StorageDriver)


@pytest.fixture(params=["filesystem", "memory"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    if request.param == "filesystem":
        return FilesystemDriver(tmp_path / "data")
    return InMemoryDriver()


def interrupted(*chunks: bytes) -> Iterator[bytes]:
    """A body that yields `chunks` and then fails, like a client that hangs up."""
    yield from chunks
    raise ConnectionResetError("client went away")


def test_absent_path_is_absent_everywhere(driver: StorageDriver) -> None:
    assert driver.stat("a/b") is None and not driver.exists("a/b")
    with pytest.raises(FileNotFoundError):
        driver.read("a/b")
    with pytest.raises(FileNotFoundError):
        driver.open("a/b")
    assert driver.list("a") == [] and not driver.delete("a/b") and not driver.touch("a/b")
    driver.delete_tree("a")  # nothing to remove is not an error


def test_put_makes_parents_and_replaces_whole(driver: StorageDriver) -> None:
    driver.put("x/y/file", b"one")
    assert driver.read("x/y/file") == b"one"
    info = driver.stat("x/y/file")
    assert info is not None and info.size == 3 and not info.is_dir
    assert driver.stat("x/y").is_dir and driver.list("x") == ["y"]
    driver.put("x/y/file", b"second")
    assert driver.read("x/y/file") == b"second"
    assert driver.list("x/y") == ["file"]  # no temporary file is visible


def test_version_changes_when_a_file_is_replaced_or_appended(driver: StorageDriver) -> None:
    driver.put("f", b"1")
    first = driver.stat("f").version
    assert driver.stat("f").version == first  # unchanged file, same version
    driver.put("f", b"2")
    second = driver.stat("f").version
    assert second != first
    driver.append("f", [b"3"])
    assert driver.stat("f").version != second


def test_put_new_and_create_only_when_absent(driver: StorageDriver) -> None:
    assert driver.put_new("r/record", b"first")
    assert not driver.put_new("r/record", b"second")
    assert not driver.create("r/record", b"third")
    assert driver.read("r/record") == b"first"
    assert driver.create("r/link", b"digest") and driver.read("r/link") == b"digest"
    assert driver.create("r/empty") and driver.stat("r/empty").size == 0


def test_put_new_has_exactly_one_winner(driver: StorageDriver) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race(n: int) -> None:
        barrier.wait()
        results.append(driver.put_new("tags/latest", f"writer {n}".encode()))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert driver.read("tags/latest").startswith(b"writer ")


def test_append_grows_an_existing_file_and_keeps_bytes_of_a_failed_body(
        driver: StorageDriver) -> None:
    driver.create("u/record")  # the directory exists; the file does not
    with pytest.raises(FileNotFoundError):
        driver.append("u/data", [b"x"])  # never makes a file (a purged session stays gone)
    assert not driver.exists("u/data")
    driver.create("u/data")
    assert driver.append("u/data", [b"ab", b"cd"]) == 4
    with pytest.raises(ConnectionResetError):
        driver.append("u/data", interrupted(b"ef"))
    assert driver.read("u/data") == b"abcdef"
    assert driver.append("u/data", []) == 0 and driver.stat("u/data").size == 6


def test_open_reads_the_bytes_of_open_time(driver: StorageDriver) -> None:
    driver.put("blobs/b", b"original")
    reader, size = driver.open("blobs/b")
    with reader:
        driver.put("blobs/b", b"replaced!")
        driver.delete("blobs/b")
        assert size == 8 and reader.read() == b"original"


def test_move_makes_a_file_appear_whole_and_replaces(driver: StorageDriver) -> None:
    driver.create("uploads/1/data", b"payload")
    driver.put("blobs/sha256/ab/old", b"stale")
    driver.move("uploads/1/data", "blobs/sha256/ab/old")
    assert driver.read("blobs/sha256/ab/old") == b"payload"
    assert not driver.exists("uploads/1/data")
    driver.create("uploads/2/data", b"more")
    driver.move("uploads/2/data", "blobs/sha512/cd/new")  # parents are made
    assert driver.read("blobs/sha512/cd/new") == b"more"
    with pytest.raises(FileNotFoundError):
        driver.move("uploads/3/data", "blobs/x")


def test_move_takes_a_directory_with_everything_below(driver: StorageDriver) -> None:
    driver.put("repositories/app/_manifests/tags/latest", b"d")
    driver.put("repositories/app/_manifests/revisions/sha256/cd", b"r")
    driver.move("repositories/app/_manifests", "trash/t/_manifests")
    assert driver.list("repositories/app") == []
    assert driver.read("trash/t/_manifests/tags/latest") == b"d"
    assert driver.read("trash/t/_manifests/revisions/sha256/cd") == b"r"


def test_delete_keeps_the_directory_and_prune_removes_empty_ones_up_to_stop(
        driver: StorageDriver) -> None:
    driver.put("blobs/sha256/ab/one", b"1")
    driver.put("blobs/sha256/cd/two", b"2")
    assert driver.delete("blobs/sha256/ab/one")
    assert driver.stat("blobs/sha256/ab").is_dir  # emptied, still there
    driver.prune("blobs/sha256/ab", "blobs")
    assert not driver.exists("blobs/sha256/ab")
    assert driver.list("blobs/sha256") == ["cd"]  # a non-empty parent stops the pruning
    driver.delete("blobs/sha256/cd/two")
    driver.prune("blobs/sha256/cd", "blobs")
    assert driver.stat("blobs").is_dir and driver.list("blobs") == []  # never `stop` itself


def test_delete_tree_removes_everything_below(driver: StorageDriver) -> None:
    driver.put("uploads/u/record", b"r")
    driver.create("uploads/u/data", b"d")
    driver.put("uploads/other", b"o")
    driver.delete_tree("uploads/u")
    assert not driver.exists("uploads/u") and not driver.exists("uploads/u/data")
    assert driver.list("uploads") == ["other"]


def test_list_is_sorted_and_empty_for_a_file(driver: StorageDriver) -> None:
    for name in ("b", "a", "C"):
        driver.put(f"tags/{name}", b"x")
    assert driver.list("tags") == ["C", "a", "b"]
    assert driver.list("tags/a") == []


def test_touch_moves_the_modification_time_forward(driver: StorageDriver) -> None:
    driver.put("f", b"x")
    before = driver.stat("f").mtime
    time.sleep(0.01)
    assert driver.touch("f")
    assert driver.stat("f").mtime > before
    assert driver.read("f") == b"x"


def test_exclusive_lock_excludes_shared_holders(driver: StorageDriver) -> None:
    events: list[str] = []
    inside = threading.Event()

    def reader() -> None:
        with driver.shared_lock(".gc.lock"):
            events.append("shared")

    with driver.shared_lock(".gc.lock"), driver.shared_lock(".gc.lock"):
        events.append("two shared at once")
    with driver.exclusive_lock(".gc.lock"):
        thread = threading.Thread(target=lambda: (inside.set(), reader()))
        thread.start()
        inside.wait(5)
        time.sleep(0.05)  # the reader had the time to get in, if it could
        events.append("exclusive")
    thread.join(5)
    assert events == ["two shared at once", "exclusive", "shared"]


def test_leftovers_are_never_visible_files(driver: StorageDriver) -> None:
    driver.put("blobs/sha256/ab/abc", b"x")
    assert list(driver.leftovers("blobs", time.time() + 60)) == []


# ---------------------------------------------------------------------------------------------
# The whole storage over each driver


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_push_pull_and_delete_over_the_driver(driver: StorageDriver) -> None:
    storage = Storage(driver=driver)
    app = storage.repository("team/app")
    layer, config = b"layer bytes", b"{}"
    app.put_blob(sha256(layer), [layer])
    session = app.start_upload()
    app.append_upload(session.id, [b"{"])
    assert app.get_upload(session.id).offset == 1  # resumable: the offset is on record
    app.complete_upload(session.id, sha256(config), [b"}"])
    manifest = (b'{"schemaVersion": 2, "mediaType": "%s", "config": {"mediaType": '
                b'"application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 2}, '
                b'"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", '
                b'"digest": "%s", "size": 11}]}'
                % (OCI_MANIFEST.encode(), sha256(config).encode(), sha256(layer).encode()))
    info = app.put_manifest("latest", manifest, OCI_MANIFEST)
    body, got = app.get_manifest("latest")
    assert body == manifest and got.digest == info.digest
    reader, blob = app.open_blob(sha256(layer))
    with reader:
        assert reader.read() == layer and blob.size == len(layer)
    assert storage.repositories() == ["team/app"] and app.tags() == ["latest"]
    assert storage.uploads.list() == []
    with pytest.raises(RegistryError) as err:
        app.get_manifest("-no-tag")
    assert err.value.code == "MANIFEST_UNKNOWN"
    storage.delete_repository("team/app", force=True)
    assert storage.repositories() == [] and not app.exists()


def test_a_wrong_digest_leaves_no_blob_over_the_driver(driver: StorageDriver) -> None:
    storage = Storage(driver=driver)
    app = storage.repository("app")
    with pytest.raises(RegistryError) as err:
        app.put_blob(sha256(b"expected"), [b"something else"])
    assert err.value.code == "DIGEST_INVALID"
    assert list(storage.blobs.walk()) == [] and storage.uploads.list() == []
    assert not app.has_blob(sha256(b"something else"))
