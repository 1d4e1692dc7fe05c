"""Input the fuzzer (skiffharness/fuzz.py) found answered with 500: each is the client's error."""

from __future__ import annotations

import json
import socket

import pytest

from registry.server import RegistryServer
from tests.registry.helpers import OCI_MANIFEST, Client

DIGEST = "sha256:" + "a" * 64


def manifest(**changes) -> bytes:
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": DIGEST, "size": 2},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": DIGEST, "size": 10}]}
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize("body", [
    manifest(mediaType=["a"]),
    manifest(layers=[{"mediaType": {"a": 1}, "digest": DIGEST, "size": 1}]),
    manifest(config={"mediaType": [], "digest": DIGEST, "size": 2}),
], ids=["manifest-media-type-a-list", "layer-media-type-an-object", "config-media-type-a-list"])
def test_a_media_type_that_is_no_string_is_an_invalid_manifest(http: Client, body: bytes) -> None:
    reply = http.request("PUT", "/v2/bad/app/manifests/latest", body,
                         {"Content-Type": "application/json"})
    assert (reply.status, reply.error_code()) == (400, "MANIFEST_INVALID")


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/skiff/v1/repositories", b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("PATCH", "/skiff/v1/repositories/bad/app", b"1.5"),
    ("PATCH", "/skiff/v1/repositories/bad/app", b'["immutable"]'),
], ids=["deeply-nested", "a-number", "a-list"])
def test_an_admin_body_that_is_no_object_is_an_invalid_parameter(http: Client, method: str,
                                                                  path: str, body: bytes) -> None:
    http.request("POST", "/skiff/v1/repositories", b'{"name": "bad/app"}')
    reply = http.request(method, path, body, {"Content-Type": "application/json"})
    assert (reply.status, reply.error_code()) == (400, "INVALID_PARAMETER")


@pytest.mark.parametrize("version, status", [("HTTP/one", 400), ("FOO", 400), ("HTTP/2.0", 505)])
def test_a_malformed_http_version_is_a_bad_request(registry: RegistryServer, version: str,
                                                   status: int) -> None:
    with socket.create_connection(("127.0.0.1", registry.port), timeout=10) as sock:
        sock.sendall(f"GET /v2/ {version}\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(100).split()[1] == str(status).encode()
