"""Storage that never loses or corrupts: concurrent pushes of the same blob and tag, stale
upload purging, caches that follow changes, and kill -9 in the middle of pushes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from registry.errors import RegistryError
from registry.server import RegistryServer
from registry.storage import Storage
from skiffharness.processes import free_port, port_open, wait_until
from tests.registry.helpers import (
    OCI_MANIFEST, Client, make_image, push_image, sha256, verify_pullable)

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_threads(count: int, target, *args) -> list[BaseException]:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            target(i, *args)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_same_blob_pushed_by_many_clients_at_once(registry: RegistryServer) -> None:
    data = os.urandom(3 * 1024 * 1024)

    def push(i: int) -> None:
        client = Client(registry.port)
        if i % 2:
            client.push_blob_chunked("race/blob", data, chunk=256 * 1024)
        else:
            client.push_blob("race/blob", data)
        client.close()

    assert run_threads(8, push) == []
    client = Client(registry.port)
    assert client.request("GET", f"/v2/race/blob/blobs/{sha256(data)}").body == data
    blob_files = [p for p in (registry.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blob_files) == 1 and blob_files[0].read_bytes() == data
    assert list((registry.data_dir / "uploads").iterdir()) == []
    client.close()


def test_same_tag_pushed_by_many_clients_at_once(registry: RegistryServer) -> None:
    images = [make_image(f"tag racer {i}", (50_000,)) for i in range(6)]

    def push(i: int) -> None:
        client = Client(registry.port)
        reply = push_image(client, "race/tag", "latest", images[i], chunked=i % 2 == 1)
        assert reply.status == 201, reply.body
        client.close()

    assert run_threads(len(images), push) == []
    client = Client(registry.port)
    body = verify_pullable(client, "race/tag", "latest")
    assert body in [image.manifest for image in images]
    assert client.request("GET", "/v2/race/tag/tags/list").json()["tags"] == ["latest"]
    for image in images:  # every push is complete and reachable by digest
        verify_pullable(client, "race/tag", image.digest)
    client.close()


def test_stale_upload_sessions_are_purged_after_the_configured_age(tmp_path: Path) -> None:
    with RegistryServer(tmp_path / "registry", port=0, purge_uploads_after=0.6) as server:
        client = Client(server.port)
        stale = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
        client.request("PATCH", stale, b"abandoned half")
        active = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
        deadline = time.monotonic() + 10
        # Keep one session busy while the other goes stale.
        while client.request("GET", stale).status == 204 and time.monotonic() < deadline:
            assert client.request("PATCH", active, b"x").status == 202
            time.sleep(0.1)
        assert client.request("GET", stale).error_code() == "BLOB_UPLOAD_UNKNOWN"
        assert client.request("GET", active).status == 204
        data = b"x" * int(client.request("GET", active).headers["Range"].split("-")[1]) + b"x"
        assert client.request("PUT", f"{active}?digest={sha256(data)}").status == 201
        sessions = [p.name for p in (server.data_dir / "uploads").iterdir()]
        assert sessions == []
        client.close()


def test_purge_leaves_young_sessions_and_crash_leftovers_go(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "data")
    young = storage.repository("app").start_upload()
    old = storage.repository("app").start_upload()
    leftover = storage.root / "uploads" / ".new-crashed"
    leftover.mkdir()
    stamp = time.time() - 7200
    for path in [*(storage.root / "uploads" / old.id).iterdir(), leftover]:
        os.utime(path, (stamp, stamp))
    purged = storage.uploads.purge(3600)
    assert [s.id for s in purged] == [old.id]
    assert [s.id for s in storage.uploads.list()] == [young.id]
    assert not leftover.exists()


def test_caches_follow_changes_made_by_another_process(tmp_path: Path) -> None:
    """Two Storage objects on one directory stand for two processes (e.g. the CLI's GC and
    the server): tag moves and deletions made by one are seen by the other at once."""
    server, other = Storage(tmp_path / "data"), Storage(tmp_path / "data")
    repository = server.repository("app")
    first, second = make_image("first"), make_image("second")
    for image in (first, second):
        for blob in image.blobs:
            repository.put_blob(sha256(blob), [blob])
    repository.put_manifest("v1", first.manifest, OCI_MANIFEST)
    for _ in range(3):
        assert repository.get_manifest("v1")[0] == first.manifest  # now cached
        other.repository("app").put_manifest("v1", second.manifest, OCI_MANIFEST)
        assert repository.get_manifest("v1")[0] == second.manifest
        other.repository("app").put_manifest("v1", first.manifest, OCI_MANIFEST)
    other.repository("app").delete_manifest(first.digest)
    with pytest.raises(RegistryError):
        repository.get_manifest("v1")
    with pytest.raises(RegistryError):
        repository.get_manifest(first.digest)


# ---------------------------------------------------------------------------------------------
# kill -9


def start_registry(data: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """`skiff registry serve` in a subprocess; (process, port). Another process on this busy
    machine may take the free port first: then the server exits and we try another port."""
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "skiff.cli", "registry", "serve", "--port", str(port),
             "--data", str(data)], cwd=REPO_ROOT, stdout=open(log, "ab"),
            stderr=subprocess.STDOUT)
        wait_until(lambda process=process, port=port:
                   process.poll() is not None or port_open("127.0.0.1", port), 60,
                   message=f"the registry subprocess on port {port}")
        if process.poll() is None:
            return process, port
    raise RuntimeError(f"the registry subprocess did not start: {log.read_text()[-2000:]}")


def check_every_visible_manifest(port: int) -> int:
    client = Client(port)
    checked = 0
    for name in client.request("GET", "/v2/_catalog").json()["repositories"]:
        reply = client.request("GET", f"/v2/{name}/tags/list")
        for tag in reply.json()["tags"]:
            verify_pullable(client, name, tag)
            checked += 1
    client.close()
    return checked


def check_blob_files(data: Path) -> None:
    """Every file under blobs/ holds exactly the bytes its name says."""
    for path in (data / "blobs").rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path


def upload_sessions(data: Path) -> list[Path]:
    """The upload session directories on disk (dot-named leftovers excepted)."""
    uploads = data / "uploads"
    if not uploads.is_dir():
        return []
    return [p for p in uploads.iterdir() if not p.name.startswith(".")]


def test_kill_9_in_the_middle_of_pushes(tmp_path: Path) -> None:
    data, log = tmp_path / "registry", tmp_path / "registry.log"
    process, port = start_registry(data, log)
    images = {f"crash/app{i}": make_image(f"crash {i}", (400_000, 300_000, 200_000))
              for i in range(4)}
    finished: list[str] = []

    def pusher(name: str) -> None:
        client = Client(port, timeout=10)
        try:
            for n in range(50):
                image = images[name] if n == 0 else make_image(f"{name} {n}", (200_000, 100_000))
                push_image(client, name, f"v{n}", image, chunked=True, chunk=32 * 1024,
                           pause=0.002)
                finished.append(name)
        except Exception:
            pass  # the registry died under us, as intended
        finally:
            client.close()

    threads = [threading.Thread(target=pusher, args=(name,), daemon=True) for name in images]
    try:
        for thread in threads:
            thread.start()
        # Kill once some pushes completed and another is surely in the middle. The pushers
        # tend to run in step, so all of them can be between two uploads at once (in manifest
        # PUTs, or with POSTs not handled yet): freeze the registry, look, and kill it only
        # when an upload session is open; otherwise let it go on and look again.
        def kill_during_an_upload() -> str:
            if process.poll() is not None:
                return "exited"
            if len(finished) < 3:
                return ""
            process.send_signal(signal.SIGSTOP)
            _, status = os.waitpid(process.pid, os.WUNTRACED)  # once every thread has stopped
            if not os.WIFSTOPPED(status):
                return "exited"
            killed = False
            try:
                if upload_sessions(data):
                    process.send_signal(signal.SIGKILL)
                    killed = True
            finally:
                if not killed:  # also when looking failed: never leave it stopped
                    process.send_signal(signal.SIGCONT)
            return "killed" if killed else ""

        outcome = wait_until(kill_during_an_upload, 60,
                             message="a few pushes to finish while another upload is in progress")
        assert outcome == "killed", f"the registry exited on its own:\n{log.read_text()[-2000:]}"
        process.wait(10)
        for thread in threads:
            thread.join(30)

        process, port = start_registry(data, log)
        check_blob_files(data)
        assert check_every_visible_manifest(port) >= 3

        # The same pushes, retried, finish and are pullable.
        client = Client(port)
        for name, image in images.items():
            assert push_image(client, name, "v0", image, chunked=True).status == 201
            assert verify_pullable(client, name, "v0") == image.manifest
        client.close()
        check_every_visible_manifest(port)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def test_interrupted_chunked_patch_keeps_what_arrived(registry: RegistryServer) -> None:
    import socket

    client = Client(registry.port)
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    data = os.urandom(3 * 40_000)
    with socket.create_connection(("127.0.0.1", registry.port), timeout=10) as sock:
        sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        for i in range(3):
            part = data[i * 40_000:(i + 1) * 40_000]
            sock.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
        sock.sendall(b"9c40\r\n" + b"half a chunk")  # then the client dies
    # Three whole chunks and the 12 bytes of the broken one: the offset a client resumes from.
    wait_until(lambda: client.request("GET", location).headers["Range"] == "0-120011", 10,
               message="the server to keep the bytes that arrived")
    reply = client.request("PATCH", location, b"more", {"Content-Range": "120012-120015"})
    assert reply.status == 202
    blob = data + b"half a chunk" + b"more"
    done = client.request("PUT", f"{location}?digest={sha256(blob)}")
    assert done.status == 201, done.body
    assert client.request("GET", f"/v2/app/blobs/{sha256(blob)}").body == blob
    client.close()
