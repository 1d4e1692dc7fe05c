"""The registry over real HTTP: a RegistryServer on a free port, driven with http.client."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pytest

from registry.server import RegistryServer
from skiffharness.processes import wait_until

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def error_code(self) -> str:
        return self.json()["errors"][0]["code"]


class Client:
    """One keep-alive connection to the registry."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return Reply(response.status, response.headers, response.read())

    def push_blob(self, name: str, data: bytes) -> str:
        digest = sha256(data)
        reply = self.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data)
        assert reply.status == 201, reply.body
        return digest

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path / "registry", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def client(server: RegistryServer) -> Iterator[Client]:
    client = Client(server.port)
    yield client
    client.close()


def manifest(config: str, layers: list[str], media_type: str = DOCKER_MANIFEST) -> bytes:
    return json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": d, "size": 1} for d in layers],
    }, indent=3).encode()


def test_server_url_and_base_endpoint(server: RegistryServer, client: Client) -> None:
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
    reply = client.request("GET", "/v2/")
    assert reply.status == 200
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert reply.json() == {}


def test_monolithic_push_then_get_and_head(client: Client) -> None:
    data = b"monolithic blob" * 100
    digest = sha256(data)
    reply = client.request("POST", f"/v2/team/app/blobs/uploads/?digest={digest}", data,
                           {"Content-Type": "application/octet-stream"})
    assert reply.status == 201
    assert reply.headers["Location"] == f"/v2/team/app/blobs/{digest}"
    assert reply.headers["Docker-Content-Digest"] == digest

    get = client.request("GET", f"/v2/team/app/blobs/{digest}")
    assert get.status == 200 and get.body == data
    assert get.headers["Content-Length"] == str(len(data))
    assert get.headers["Content-Type"] == "application/octet-stream"
    assert get.headers["Docker-Content-Digest"] == digest

    head = client.request("HEAD", f"/v2/team/app/blobs/{digest}")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["Docker-Content-Digest"] == digest


def test_post_patch_patch_put_session(client: Client) -> None:
    data = bytes(range(256)) * 40
    start = client.request("POST", "/v2/app/blobs/uploads/")
    assert start.status == 202
    location, uuid = start.headers["Location"], start.headers["Docker-Upload-UUID"]
    assert location == f"/v2/app/blobs/uploads/{uuid}"
    assert start.headers["Range"] == "0-0"

    first = client.request("PATCH", location, data[:4000],
                           {"Content-Type": "application/octet-stream"})
    assert first.status == 202 and first.headers["Range"] == "0-3999"
    # The way docker sends it: no Content-Length, Transfer-Encoding: chunked.
    second = client.request("PATCH", first.headers["Location"],
                            iter([data[4000:5000], data[5000:9000]]))
    assert second.status == 202 and second.headers["Range"] == "0-8999"

    status = client.request("GET", location)
    assert status.status == 204 and status.headers["Range"] == "0-8999"

    done = client.request("PUT", f"{location}?digest={sha256(data)}", data[9000:])
    assert done.status == 201
    assert done.headers["Location"] == f"/v2/app/blobs/{sha256(data)}"
    assert done.headers["Docker-Content-Digest"] == sha256(data)
    assert client.request("GET", f"/v2/app/blobs/{sha256(data)}").body == data
    assert client.request("GET", location).error_code() == "BLOB_UPLOAD_UNKNOWN"


def test_patch_at_wrong_offset_is_416(client: Client) -> None:
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    client.request("PATCH", location, b"12345")
    reply = client.request("PATCH", location, b"678", {"Content-Range": "0-2"})
    assert reply.status == 416 and reply.error_code() == "BLOB_UPLOAD_INVALID"
    assert reply.headers["Range"] == "0-4"
    ok = client.request("PATCH", location, b"678", {"Content-Range": "5-7"})
    assert ok.status == 202 and ok.headers["Range"] == "0-7"


def test_put_with_wrong_digest_is_rejected(client: Client) -> None:
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    reply = client.request("PUT", f"{location}?digest={sha256(b'other')}", b"content")
    assert reply.status == 400 and reply.error_code() == "DIGEST_INVALID"
    assert client.request("HEAD", f"/v2/app/blobs/{sha256(b'content')}").status == 404
    assert client.request("HEAD", f"/v2/app/blobs/{sha256(b'other')}").status == 404


def test_cancel_upload(client: Client) -> None:
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    assert client.request("DELETE", location).status == 204
    reply = client.request("GET", location)
    assert reply.status == 404 and reply.error_code() == "BLOB_UPLOAD_UNKNOWN"


def test_cross_repository_mount(client: Client) -> None:
    digest = client.push_blob("source/app", b"shared layer")
    reply = client.request("POST", f"/v2/target/blobs/uploads/?mount={digest}&from=source/app")
    assert reply.status == 201
    assert reply.headers["Location"] == f"/v2/target/blobs/{digest}"
    assert reply.headers["Docker-Content-Digest"] == digest
    assert client.request("GET", f"/v2/target/blobs/{digest}").body == b"shared layer"

    unknown = sha256(b"nowhere")
    fallback = client.request("POST", f"/v2/target/blobs/uploads/?mount={unknown}&from=source/app")
    assert fallback.status == 202 and "Docker-Upload-UUID" in fallback.headers


def test_manifest_round_trip(client: Client) -> None:
    config = client.push_blob("app", b"{}")
    layer = client.push_blob("app", b"L")
    body = manifest(config, [layer])
    put = client.request("PUT", "/v2/app/manifests/v1", body, {"Content-Type": DOCKER_MANIFEST})
    assert put.status == 201
    assert put.headers["Docker-Content-Digest"] == sha256(body)
    assert put.headers["Location"] == f"/v2/app/manifests/{sha256(body)}"

    get = client.request("GET", "/v2/app/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert get.status == 200 and get.body == body
    assert get.headers["Content-Type"] == DOCKER_MANIFEST
    assert get.headers["Docker-Content-Digest"] == sha256(body)
    assert get.headers["Content-Length"] == str(len(body))

    head = client.request("HEAD", f"/v2/app/manifests/{sha256(body)}")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(body))
    assert head.headers["Docker-Content-Digest"] == sha256(body)


def test_manifest_referencing_missing_blob_is_400(client: Client) -> None:
    config = client.push_blob("app", b"{}")
    missing = sha256(b"never pushed")
    reply = client.request("PUT", "/v2/app/manifests/v1", manifest(config, [missing]),
                           {"Content-Type": DOCKER_MANIFEST})
    assert reply.status == 400 and reply.error_code() == "MANIFEST_BLOB_UNKNOWN"
    unknown = client.request("GET", "/v2/app/manifests/v1")
    assert unknown.status == 404 and unknown.error_code() == "MANIFEST_UNKNOWN"


BAD = "sha256:not-a-digest"


@pytest.mark.parametrize("method,path", [
    ("GET", f"/v2/app/blobs/{BAD}"),
    ("HEAD", f"/v2/app/blobs/{BAD}"),
    ("GET", "/v2/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"),
    ("POST", f"/v2/app/blobs/uploads/?digest={BAD}"),
    ("POST", f"/v2/app/blobs/uploads/?mount={BAD}&from=other"),
    ("PUT", "/v2/app/blobs/uploads/{uuid}?digest=" + BAD),
    ("PUT", "/v2/app/blobs/uploads/{uuid}"),
    ("GET", f"/v2/app/manifests/{BAD}"),
    ("PUT", f"/v2/app/manifests/{BAD}"),
], ids=["get-blob", "head-blob", "unsupported-algorithm", "monolithic", "mount", "put-upload",
        "put-upload-without-digest", "get-manifest", "put-manifest"])
def test_malformed_digest_is_400_never_500(client: Client, method: str, path: str) -> None:
    if "{uuid}" in path:
        uuid = client.request("POST", "/v2/app/blobs/uploads/").headers["Docker-Upload-UUID"]
        path = path.replace("{uuid}", uuid)
    reply = client.request(method, path, b"some body" if method in ("POST", "PUT") else None)
    assert reply.status == 400
    if method != "HEAD":
        assert reply.error_code() == "DIGEST_INVALID"
    # The connection survives the error (the unread body was drained).
    assert client.request("GET", "/v2/").status == 200


def test_tags_list_is_sorted(client: Client) -> None:
    config = client.push_blob("team/app", b"{}")
    body = manifest(config, [])
    for tag in ["zeta", "alpha", "10", "2", "Beta"]:
        assert client.request("PUT", f"/v2/team/app/manifests/{tag}", body,
                              {"Content-Type": DOCKER_MANIFEST}).status == 201
    reply = client.request("GET", "/v2/team/app/tags/list")
    assert reply.status == 200
    # The spec's "lexical order (i.e. case-insensitive alphanumeric order)".
    assert reply.json() == {"name": "team/app", "tags": ["10", "2", "alpha", "Beta", "zeta"]}
    unknown = client.request("GET", "/v2/nobody/tags/list")
    assert unknown.status == 404 and unknown.error_code() == "NAME_UNKNOWN"


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/Upper/tags/list"),
    ("POST", "/v2/a//b/blobs/uploads/"),
    ("GET", "/v2/../etc/manifests/latest"),
    ("PUT", "/v2/a/../../b/manifests/latest"),
    ("HEAD", "/v2/-x/blobs/sha256:" + "a" * 64),
], ids=["upper", "empty-component", "dotdot", "dotdot-nested", "leading-dash"])
def test_bad_name_is_name_invalid(server: RegistryServer, client: Client, method: str,
                                  path: str) -> None:
    reply = client.request(method, path, b"{}" if method in ("POST", "PUT") else None)
    assert reply.status == 400
    if method != "HEAD":
        assert reply.error_code() == "NAME_INVALID"
    assert not (server.data_dir / "repositories").exists()
    assert not (server.data_dir / "uploads").exists()


def test_unknown_routes_and_methods(client: Client) -> None:
    for path in ["/", "/v2/app/nothing", "/v3/"]:
        reply = client.request("GET", path)
        assert reply.status == 404 and reply.error_code() == "UNSUPPORTED", path
    reply = client.request("POST", "/v2/app/manifests/v1")
    assert reply.status == 405 and reply.error_code() == "UNSUPPORTED"
    assert reply.headers["Allow"] == "DELETE, GET, HEAD, PUT"


def test_byte_ranges(client: Client) -> None:
    digest = client.push_blob("app", b"0123456789")
    part = client.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=2-5"})
    assert part.status == 206 and part.body == b"2345"
    assert part.headers["Content-Range"] == "bytes 2-5/10"
    tail = client.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=-3"})
    assert tail.status == 206 and tail.body == b"789"
    beyond = client.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=20-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == "bytes */10"


def test_malformed_chunked_body_is_400_and_closes(server: RegistryServer, client: Client) -> None:
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("PATCH", location)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders(b"zz\r\nnot hex\r\n0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 400
    assert response.headers["Connection"] == "close"
    assert json.loads(response.read())["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    connection.close()


def send_truncated(port: int, method: str, path: str, declared: int, sent: bytes) -> None:
    """Announce `declared` body bytes, send only `sent`, and hang up (a client that died)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + sent)


def blob_files(server: RegistryServer) -> list[Path]:
    return [p for p in (server.data_dir / "blobs").rglob("*") if p.is_file()]


def test_interrupted_monolithic_upload_leaves_nothing(server: RegistryServer,
                                                      client: Client) -> None:
    data = b"x" * 1000
    send_truncated(server.port, "POST", f"/v2/app/blobs/uploads/?digest={sha256(data)}",
                   len(data), data[:10])
    uploads = server.data_dir / "uploads"
    # The session directory appears when the server starts the upload and goes when it aborts.
    wait_until(lambda: uploads.exists() and not any(uploads.iterdir()), timeout=10,
               message="the aborted upload to be cleaned up")
    assert blob_files(server) == []
    assert client.request("HEAD", f"/v2/app/blobs/{sha256(data)}").status == 404


def test_interrupted_patch_can_be_resumed(server: RegistryServer, client: Client) -> None:
    data = bytes(range(200)) * 5
    location = client.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    send_truncated(server.port, "PATCH", location, len(data), data[:300])
    wait_until(lambda: client.request("GET", location).headers["Range"] == "0-299", timeout=10,
               message="the server to keep the 300 bytes it received")
    assert blob_files(server) == []
    assert client.request("PATCH", location, data[300:], {"Content-Range": "300-999"}).status == 202
    assert client.request("PUT", f"{location}?digest={sha256(data)}").status == 201
    assert client.request("GET", f"/v2/app/blobs/{sha256(data)}").body == data


def test_unexpected_exception_is_500_with_oci_body(server: RegistryServer, client: Client,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    def broken(name: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.storage, "repository", broken)
    reply = client.request("GET", "/v2/app/tags/list")
    assert reply.status == 500 and reply.error_code() == "UNKNOWN"
    assert "disk on fire" not in reply.body.decode()  # internals stay in the log
    assert "disk on fire" in caplog.text
