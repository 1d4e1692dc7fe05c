"""Real clients against the registry: docker push/pull/run, and skopeo inspect/copy.

Docker treats 127.0.0.0/8 as an insecure registry on any port, so plain HTTP works with no
daemon configuration.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from registry.server import RegistryServer
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import free_port

pytestmark = pytest.mark.integration


@dataclass
class PushedImage:
    server: RegistryServer
    ref: str          # 127.0.0.1:<port>/skiff-test/multi:1
    digest: str       # manifest digest docker reported on push
    nonce: str        # content of /nonce.txt, unique to this run
    layers: int


@pytest.fixture(scope="module")
def pushed(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushedImage]:
    """A multi-layer image pushed with `docker push` to a fresh registry, then removed locally."""
    server = RegistryServer(tmp_path_factory.mktemp("registry"), port=free_port()).start()
    ref = f"127.0.0.1:{server.port}/skiff-test/multi:1"
    container = None
    try:
        build_busybox_image(ref, extra_layers=2)
        # One more layer with content unique to this run: the build cache shares the other
        # layers with every busybox image on this machine, so without it `docker pull` could
        # find everything locally and fetch no blob at all.
        nonce = uuid.uuid4().hex
        nonce_file = tmp_path_factory.mktemp("nonce") / "nonce.txt"
        nonce_file.write_text(nonce)
        container = docker_cli("create", ref, "/bin/busybox", "true").stdout.strip()
        docker_cli("cp", str(nonce_file), f"{container}:/nonce.txt")
        docker_cli("commit", container, ref)
        layers = len(json.loads(docker_cli("image", "inspect", ref).stdout)[0]["RootFS"]["Layers"])

        push = docker_cli("push", ref)
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", push.stdout)
        assert match, push.stdout
        docker_cli("rmi", ref)
        yield PushedImage(server, ref, match[1], nonce, layers)
    finally:
        if container:
            docker_cli("rm", "-f", container, check=False)
        docker_cli("rmi", ref, check=False)
        server.stop()


def test_push_stored_every_layer(pushed: PushedImage) -> None:
    assert pushed.layers >= 5  # busybox, --install, two extra layers, the nonce layer
    with urllib.request.urlopen(f"{pushed.server.url}/v2/skiff-test/multi/tags/list") as reply:
        assert json.load(reply) == {"name": "skiff-test/multi", "tags": ["1"]}
    body, info = pushed.server.storage.repository("skiff-test/multi").get_manifest("1")
    assert str(info.digest) == pushed.digest
    assert len(json.loads(body)["layers"]) == pushed.layers


def test_docker_pull_and_run(pushed: PushedImage) -> None:
    with pytest.raises(RuntimeError):  # really gone locally, so the pull must fetch it
        docker_cli("image", "inspect", pushed.ref)
    try:
        pull = docker_cli("pull", pushed.ref)
        assert f"Digest: {pushed.digest}" in pull.stdout
        assert "Pull complete" in pull.stdout  # at least the nonce layer was downloaded
        run = docker_cli("run", "--rm", pushed.ref, "/bin/busybox", "echo", "ok")
        assert run.stdout.strip() == "ok"
        nonce = docker_cli("run", "--rm", pushed.ref, "/bin/busybox", "cat", "/nonce.txt")
        assert nonce.stdout == pushed.nonce
    finally:
        docker_cli("rmi", pushed.ref, check=False)


def skopeo(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True,
                          timeout=120)


def test_skopeo_inspect(pushed: PushedImage) -> None:
    result = skopeo("inspect", "--tls-verify=false", f"docker://{pushed.ref}")
    assert result.returncode == 0, result.stderr
    inspected = json.loads(result.stdout)
    assert inspected["Digest"] == pushed.digest
    assert len(inspected["Layers"]) == pushed.layers


def test_skopeo_copy_to_another_repository(pushed: PushedImage, tmp_path: Path) -> None:
    target = f"127.0.0.1:{pushed.server.port}/skiff-test/copied:2"
    copy = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                  f"docker://{pushed.ref}", f"docker://{target}")
    assert copy.returncode == 0, copy.stderr
    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{target}")
    assert inspected.returncode == 0, inspected.stderr
    assert len(json.loads(inspected.stdout)["Layers"]) == pushed.layers

    # Reading every blob back out checks each one against its digest on the client side.
    out = skopeo("copy", "--src-tls-verify=false", f"docker://{target}", f"dir:{tmp_path / 'x'}")
    assert out.returncode == 0, out.stderr
    copied = json.loads((tmp_path / "x" / "manifest.json").read_text())
    for descriptor in [copied["config"], *copied["layers"]]:
        blob = tmp_path / "x" / descriptor["digest"].split(":", 1)[1]
        assert blob.stat().st_size == descriptor["size"]
