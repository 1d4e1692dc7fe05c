"""Real clients against the registry, beyond test_docker_client.py: Docker pulling an image
that was pushed in chunks, `docker login` with the token flow, immutable tags and public
repositories through Docker, and skopeo with an OCI index of two platform manifests (copy in
and out, list-tags, delete).

Docker treats 127.0.0.0/8 as an insecure registry on any port; each test gives the Docker CLI
its own --config directory, so logins never touch the machine's ~/.docker.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from registry.client import AdminClient
from registry.server import RegistryServer
from skiffharness.images import build_busybox_image, docker_cli
from tests.registry.helpers import (
    OCI_INDEX, OCI_MANIFEST, Client, Image, busybox_image, host_platform, image_manifest,
    index_manifest, push_image, sha256, verify_pullable)
from tests.registry.test_auth import PASSWORDS, basic, write_auth_file

pytestmark = pytest.mark.integration


def docker(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "--config", str(config), *args], input=stdin,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def open_registry(docker_engine: None, tmp_path: Path) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path / "registry", port=0) as server:
        yield server


@pytest.fixture
def secured_registry(docker_engine: None, tmp_path: Path) -> Iterator[RegistryServer]:
    auth = write_auth_file(tmp_path / "auth.json")
    with RegistryServer(tmp_path / "registry", port=0, auth_file=auth) as server:
        yield server


def test_docker_pulls_and_runs_an_image_pushed_in_chunks(open_registry: RegistryServer,
                                                         tmp_path: Path) -> None:
    nonce = uuid.uuid4().hex
    image = busybox_image(nonce)
    client = Client(open_registry.port)
    # 64 KiB PATCHes with Content-Range, then a closing PUT: the chunked flow of the spec.
    assert push_image(client, "chunked/busybox", "1", image, chunked=True,
                      chunk=64 * 1024).status == 201
    client.close()
    ref = f"127.0.0.1:{open_registry.port}/chunked/busybox:1"
    try:
        pull = docker(tmp_path / "docker", "pull", ref)
        assert pull.returncode == 0, pull.stderr
        assert f"Digest: {image.digest}" in pull.stdout
        run = docker(tmp_path / "docker", "run", "--rm", ref)
        assert run.returncode == 0, run.stderr
        assert run.stdout == nonce
    finally:
        docker_cli("rmi", "-f", ref, check=False)


def test_docker_login_token_flow_push_pull_and_denied(secured_registry: RegistryServer,
                                                      tmp_path: Path) -> None:
    registry = f"127.0.0.1:{secured_registry.port}"
    ref = f"{registry}/team/login:{uuid.uuid4().hex[:8]}"
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    try:
        build_busybox_image(ref)
        anonymous = docker(tmp_path / "nobody", "push", ref)
        assert anonymous.returncode != 0
        assert "unauthorized" in anonymous.stderr.lower() or "denied" in anonymous.stderr.lower()

        wrong = docker(alice, "login", registry, "-u", "alice", "--password-stdin",
                       stdin="not the password")
        assert wrong.returncode != 0 and "unauthorized" in wrong.stderr.lower()
        login = docker(alice, "login", registry, "-u", "alice", "--password-stdin",
                       stdin=PASSWORDS["alice"])
        assert login.returncode == 0 and "Login Succeeded" in login.stdout, login.stderr
        push = docker(alice, "push", ref)
        assert push.returncode == 0, push.stderr

        assert docker(bob, "login", registry, "-u", "bob", "--password-stdin",
                      stdin=PASSWORDS["bob"]).returncode == 0
        docker_cli("tag", ref, f"{registry}/team/bob:1")
        denied = docker(bob, "push", f"{registry}/team/bob:1")
        assert denied.returncode != 0 and "denied" in denied.stderr.lower(), denied.stderr
        docker_cli("rmi", ref)
        pulled = docker(bob, "pull", ref)  # bob may pull team/*
        assert pulled.returncode == 0, pulled.stderr
    finally:
        docker_cli("rmi", "-f", ref, f"{registry}/team/bob:1", check=False)


def test_docker_pulls_a_public_repository_without_login(secured_registry: RegistryServer,
                                                        tmp_path: Path) -> None:
    nonce = uuid.uuid4().hex
    AdminClient(secured_registry.url, "alice", PASSWORDS["alice"]).create_repository(
        "team/public", public=True)
    writer = Client(secured_registry.port)
    writer.headers = basic("alice")
    for name in ("team/public", "team/private"):
        assert push_image(writer, name, "1", busybox_image(nonce)).status == 201
    writer.close()
    registry = f"127.0.0.1:{secured_registry.port}"
    try:
        public = docker(tmp_path / "anonymous", "pull", f"{registry}/team/public:1")
        assert public.returncode == 0, public.stderr
        private = docker(tmp_path / "anonymous", "pull", f"{registry}/team/private:1")
        assert private.returncode != 0
        assert "unauthorized" in private.stderr.lower() or "denied" in private.stderr.lower()
    finally:
        docker_cli("rmi", "-f", f"{registry}/team/public:1", check=False)


def test_docker_push_to_an_existing_immutable_tag_is_refused(open_registry: RegistryServer,
                                                             tmp_path: Path) -> None:
    registry = f"127.0.0.1:{open_registry.port}"
    AdminClient(open_registry.url).create_repository("locked/app", immutable=True)
    ref = f"{registry}/locked/app:v1"
    config = tmp_path / "docker"
    try:
        build_busybox_image(ref)
        assert docker(config, "push", ref).returncode == 0
        build_busybox_image(ref, extra_layers=1)  # different content, same tag
        refused = docker(config, "push", ref)
        assert refused.returncode != 0
        assert "immutable" in refused.stderr, refused.stderr
    finally:
        # The first build keeps a digest reference from its push; remove exactly that, since
        # its image is shared with every busybox image on this machine.
        listed = docker_cli("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}",
                            check=False).stdout.split()
        for reference in [r for r in listed if r.startswith(f"{registry}/locked/app@sha256:")]:
            docker_cli("rmi", reference, check=False)
        docker_cli("rmi", "-f", ref, check=False)


# ---------------------------------------------------------------------------------------------
# skopeo


def skopeo(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True,
                          text=True, timeout=180)


def platform_image(arch: str) -> Image:
    layer = gzip.compress(f"layer for {arch}".encode() * 1000 + os.urandom(64), mtime=0)
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(
                             gzip.decompress(layer))]}}).encode()
    return Image(config, [layer], image_manifest(config, [layer]), OCI_MANIFEST)


@pytest.fixture
def multi_platform(open_registry: RegistryServer) -> tuple[str, bytes, list[Image]]:
    """An OCI index with an amd64 and an arm64 manifest, pushed with plain HTTP requests."""
    client = Client(open_registry.port)
    os_, host_arch = host_platform()
    arches = [host_arch, "arm64" if host_arch != "arm64" else "amd64"]
    images = [platform_image(arch) for arch in arches]
    for image in images:
        assert push_image(client, "multi/app", image.digest, image).status == 201
    index = index_manifest([(image.manifest, OCI_MANIFEST, {"os": os_, "architecture": arch})
                            for image, arch in zip(images, arches)])
    assert client.put_manifest("multi/app", "multi", index, OCI_INDEX).status == 201
    client.close()
    return f"127.0.0.1:{open_registry.port}", index, images


def test_skopeo_inspects_the_index(multi_platform: tuple[str, bytes, list[Image]]) -> None:
    registry, index, _ = multi_platform
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{registry}/multi/app:multi")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.encode() == index


def test_skopeo_copy_all_between_repositories_then_delete(
        open_registry: RegistryServer, multi_platform: tuple[str, bytes, list[Image]]) -> None:
    registry, index, images = multi_platform
    copy = skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                  f"docker://{registry}/multi/app:multi", f"docker://{registry}/multi/copy:multi")
    assert copy.returncode == 0, copy.stderr
    client = Client(open_registry.port)
    assert verify_pullable(client, "multi/copy", "multi") == index  # digests preserved
    for image in images:
        verify_pullable(client, "multi/copy", image.digest)

    tags = skopeo("list-tags", "--tls-verify=false", f"docker://{registry}/multi/app")
    assert tags.returncode == 0, tags.stderr
    listed = json.loads(tags.stdout)
    assert listed["Repository"] == f"{registry}/multi/app"
    # The children were pushed by digest only: the one tag is the index's.
    assert listed["Tags"] == ["multi"]

    deleted = skopeo("delete", "--tls-verify=false", f"docker://{registry}/multi/copy:multi")
    assert deleted.returncode == 0, deleted.stderr
    assert client.request("GET", "/v2/multi/copy/manifests/multi").status == 404
    assert client.request("GET", f"/v2/multi/copy/manifests/{sha256(index)}").status == 404
    assert client.request("GET", "/v2/multi/copy/tags/list").json()["tags"] == []
    client.close()


def test_skopeo_copy_out_to_an_oci_layout_and_back_in(
        open_registry: RegistryServer, multi_platform: tuple[str, bytes, list[Image]],
        tmp_path: Path) -> None:
    registry, index, images = multi_platform
    layout = tmp_path / "layout"
    out = skopeo("copy", "--all", "--src-tls-verify=false",
                 f"docker://{registry}/multi/app:multi", f"oci:{layout}:multi")
    assert out.returncode == 0, out.stderr
    for image in images:
        for blob in [image.manifest, *image.blobs]:
            path = layout / "blobs" / "sha256" / sha256(blob).split(":")[1]
            assert path.read_bytes() == blob
    back = skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:multi",
                  f"docker://{registry}/multi/back:v1")
    assert back.returncode == 0, back.stderr
    client = Client(open_registry.port)
    assert verify_pullable(client, "multi/back", "v1") == index
    client.close()

    # Without --all skopeo picks this machine's platform out of the index.
    single = skopeo("copy", "--src-tls-verify=false", f"docker://{registry}/multi/app:multi",
                    f"dir:{tmp_path / 'single'}")
    assert single.returncode == 0, single.stderr
    assert (tmp_path / "single" / "manifest.json").read_bytes() == images[0].manifest
