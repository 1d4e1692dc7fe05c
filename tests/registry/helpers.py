"""Helpers for the registry tests: a keep-alive HTTP client, manifest builders, image pushes,
and a small image made in Python (busybox in one layer) that Docker can run."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import platform
import ssl
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
EMPTY_JSON = b"{}"


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
    """One keep-alive connection to a registry (reconnects when the server closed it)."""

    def __init__(self, port: int, *, auth: tuple[str, str] | None = None,
                 tls: ssl.SSLContext | None = None, timeout: float = 30) -> None:
        self.port, self.tls, self.timeout = port, tls, timeout
        self.headers: dict[str, str] = {}
        if auth is not None:
            self.headers["Authorization"] = "Basic " + base64.b64encode(
                f"{auth[0]}:{auth[1]}".encode()).decode()
        self._connect()

    def _connect(self) -> None:
        if self.tls is not None:
            self.connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=self.timeout, context=self.tls)
        else:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                         timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        all_headers = {**self.headers, **(headers or {})}
        try:
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.connection.close()
            self._connect()
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
        reply = Reply(response.status, response.headers, response.read())
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self._connect()
        return reply

    def push_blob(self, name: str, data: bytes) -> str:
        """Monolithic POST ?digest= upload."""
        digest = sha256(data)
        reply = self.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data)
        assert reply.status == 201, (reply.status, reply.body)
        return digest

    def push_blob_chunked(self, name: str, data: bytes, chunk: int = 65536,
                          pause: float = 0.0) -> str:
        """POST, then PATCHes with Content-Range, then a closing PUT (no body)."""
        digest = sha256(data)
        start = self.request("POST", f"/v2/{name}/blobs/uploads/", b"",
                             {"Content-Length": "0"})
        assert start.status == 202, (start.status, start.body)
        location = start.headers["Location"]
        for offset in range(0, len(data), chunk):
            part = data[offset:offset + chunk]
            reply = self.request("PATCH", location, part, {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(part) - 1}"})
            assert reply.status == 202, (reply.status, reply.body)
            location = reply.headers["Location"]
            if pause:
                time.sleep(pause)
        done = self.request("PUT", f"{location}?digest={digest}", b"",
                            {"Content-Length": "0"})
        assert done.status == 201, (done.status, done.body)
        return digest

    def put_manifest(self, name: str, reference: str, body: bytes,
                     media_type: str = OCI_MANIFEST) -> Reply:
        return self.request("PUT", f"/v2/{name}/manifests/{reference}", body,
                            {"Content-Type": media_type})

    def close(self) -> None:
        self.connection.close()


def descriptor(media_type: str, data: bytes, **extra: object) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def image_manifest(config: bytes, layers: list[bytes], *, media_type: str = OCI_MANIFEST,
                   config_type: str | None = None, layer_type: str | None = None,
                   **extra: object) -> bytes:
    docker = media_type == DOCKER_MANIFEST
    return json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": descriptor(config_type or (DOCKER_CONFIG if docker else OCI_CONFIG), config),
        "layers": [descriptor(layer_type or (DOCKER_LAYER if docker else OCI_LAYER), layer)
                   for layer in layers],
        **extra}, indent=2).encode()


def index_manifest(children: list[tuple[bytes, str, dict | None]], *,
                   media_type: str = OCI_INDEX, **extra: object) -> bytes:
    """children: (manifest bytes, its media type, platform or None)."""
    entries = []
    for body, child_type, platform_ in children:
        entry = descriptor(child_type, body)
        if platform_ is not None:
            entry["platform"] = platform_
        entries.append(entry)
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries,
                       **extra}, indent=2).encode()


@dataclass
class Image:
    """A pushable image: config, layers and its manifest."""

    config: bytes
    layers: list[bytes]
    manifest: bytes
    media_type: str = OCI_MANIFEST
    blobs: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.blobs = [self.config, *self.layers]

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def make_image(seed: str, layer_sizes: Iterable[int] = (1000, 2000), *,
               media_type: str = OCI_MANIFEST) -> Image:
    """An image with pseudo-random layers derived from `seed` (same seed, same bytes)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layers = []
    for i, size in enumerate(layer_sizes):
        block = hashlib.sha256(f"{seed}/{i}".encode()).digest()
        layers.append((block * (size // len(block) + 1))[:size])
    return Image(config, layers, image_manifest(config, layers, media_type=media_type),
                 media_type)


def push_image(client: Client, name: str, tag: str, image: Image, *, chunked: bool = False,
               chunk: int = 65536, pause: float = 0.0) -> Reply:
    for blob in image.blobs:
        if chunked:
            client.push_blob_chunked(name, blob, chunk, pause)
        else:
            client.push_blob(name, blob)
    return client.put_manifest(name, tag, image.manifest, image.media_type)


def verify_pullable(client: Client, name: str, reference: str) -> bytes:
    """GET the manifest and every blob it references, checking each against its digest."""
    reply = client.request("GET", f"/v2/{name}/manifests/{reference}")
    assert reply.status == 200, (name, reference, reply.status, reply.body)
    assert sha256(reply.body) == reply.headers["Docker-Content-Digest"]
    if reference.startswith("sha256:"):
        assert sha256(reply.body) == reference
    document = json.loads(reply.body)
    for child in document.get("manifests", []):
        verify_pullable(client, name, child["digest"])
    for entry in [document.get("config"), *document.get("layers", [])]:
        if entry is None:
            continue
        blob = client.request("GET", f"/v2/{name}/blobs/{entry['digest']}")
        assert blob.status == 200, (name, entry["digest"], blob.status)
        assert sha256(blob.body) == entry["digest"]
        assert len(blob.body) == entry["size"]
    return reply.body


def host_platform() -> tuple[str, str]:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine)
    return "linux", arch


def busybox_image(nonce: str, busybox: Path = Path("/bin/busybox")) -> Image:
    """A runnable Docker schema 2 image made here: /bin/busybox plus /nonce.txt, gzip layers."""
    layers, diff_ids = [], []
    for files in ({"bin/busybox": busybox.read_bytes()}, {"nonce.txt": nonce.encode()}):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path, content in files.items():
                parts = path.split("/")
                for depth in range(1, len(parts)):
                    directory = tarfile.TarInfo("/".join(parts[:depth]))
                    directory.type, directory.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(directory)
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(content), 0o755, 0
                tar.addfile(info, io.BytesIO(content))
        diff_ids.append(sha256(raw.getvalue()))
        layers.append(gzip.compress(raw.getvalue(), compresslevel=1, mtime=0))
    os_, arch = host_platform()
    config = json.dumps({
        "architecture": arch, "os": os_,
        "config": {"Cmd": ["/bin/busybox", "cat", "/nonce.txt"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "skiff test"}, {"created_by": "skiff test nonce"}],
    }).encode()
    manifest = image_manifest(config, layers, media_type=DOCKER_MANIFEST)
    return Image(config, layers, manifest, DOCKER_MANIFEST)
