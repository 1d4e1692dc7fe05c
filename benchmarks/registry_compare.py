"""Skiff's registry against the reference: Debian's `docker-registry` (CNCF distribution).

Both run on loopback on this machine, each on its own fresh data directory, and every figure is
measured with the same client against both:

- `docker push` / `docker pull` of a 100 MB image in 5 layers (random bytes, FROM scratch);
- skopeo pull of the same image (copy to a dir:, digests verified by skopeo);
- skopeo push / pull of an image of 200 small layers (Docker's overlay2 refuses > 125 layers);
- raw blob GET throughput with wrk, 1 and 8 connections, on a 20 MB layer;
- manifest GET requests per second with wrk, 16 connections.

Times are the median of `--repeat` runs (registries restarted empty for each, the order of
the two alternating); the ratio is reference/skiff for times and skiff/reference for rates, so
above 1.0 means Skiff is faster.

    .venv/bin/python benchmarks/registry_compare.py [--repeat 3] [--duration 10]

Needs dockerd (started when missing), skopeo, wrk and docker-registry
(`apt-get install -y docker-registry wrk skopeo`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from skiffharness.processes import ensure_dockerd, free_port, port_open, wait_until  # noqa: E402

ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])
SKOPEO = ["skopeo", "--insecure-policy"]


@dataclass
class Registry:
    label: str
    port: int
    process: subprocess.Popen

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def run(*args: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
    return result


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# The two registries


def _start(label: str, command: Callable[[int], list[str]], log: Path) -> Registry:
    """Start a registry on a free port; another process may take the port first: retry."""
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(command(port), cwd=REPO_ROOT, stdout=open(log, "ab"),
                                   stderr=subprocess.STDOUT)
        wait_until(lambda process=process, port=port:
                   process.poll() is not None or port_open("127.0.0.1", port), 60, message=label)
        if process.poll() is None:
            return Registry(label, port, process)
    raise RuntimeError(f"{label} did not start; see {log}")


def start_reference(base: Path) -> Registry:
    def command(port: int) -> list[str]:
        config = base / "reference.yml"
        config.write_text(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {base / 'reference-data'}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
""")
        return ["docker-registry", "serve", str(config)]

    return _start("reference", command, base / "reference.log")


def start_skiff(base: Path) -> Registry:
    return _start("skiff", lambda port: [
        sys.executable, "-m", "skiff.cli", "registry", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--data", str(base / "skiff-data")], base / "skiff.log")


@contextmanager
def registries(base: Path) -> Iterator[dict[str, Registry]]:
    base.mkdir(parents=True)
    started: dict[str, Registry] = {}
    try:
        started["skiff"] = start_skiff(base)
        started["reference"] = start_reference(base)
        yield started
    finally:
        for registry in started.values():
            registry.process.terminate()
            try:
                registry.process.wait(10)
            except subprocess.TimeoutExpired:
                registry.process.kill()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Test images


def build_big_image(workdir: Path, layers: int, layer_mb: int) -> str:
    """A FROM scratch image of `layers` layers of random bytes; returns its local tag."""
    context = workdir / "big-context"
    context.mkdir()
    lines = ["FROM scratch"]
    for i in range(layers):
        (context / f"layer{i}.bin").write_bytes(os.urandom(layer_mb * 1024 * 1024))
        lines.append(f"COPY layer{i}.bin /data/layer{i}.bin")
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")
    tag = f"skiff-bench/big:{os.getpid()}"
    run("docker", "build", "-q", "-t", tag, str(context), env={**os.environ,
                                                               "DOCKER_BUILDKIT": "0"})
    shutil.rmtree(context)
    return tag


def image_id(tag: str) -> str:
    return run("docker", "image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def write_blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_many_layer_layout(workdir: Path, count: int, layer_kb: int) -> Path:
    """An OCI image layout holding one image of `count` small gzip layers, tag "many"."""
    layout = workdir / "many-layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    layers, diff_ids = [], []
    for i in range(count):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            content = os.urandom(layer_kb * 1024)
            info = tarfile.TarInfo(f"layer{i}.bin")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       **write_blob(layout, gzip.compress(raw.getvalue(), 1, mtime=0))})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **write_blob(layout, config)},
        "layers": layers}).encode()
    descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                  **write_blob(layout, manifest),
                  "annotations": {"org.opencontainers.image.ref.name": "many"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                   "manifests": [descriptor]}))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout


# ---------------------------------------------------------------------------------------------
# Figures


def wrk(url: str, connections: int, threads: int, duration: int) -> tuple[float, float]:
    """(requests per second, bytes per second) from wrk."""
    out = run("wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
              "-H", f"Accept: {ACCEPT}", url).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk got errors from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    value, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out).groups()
    scale = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit]
    return rps, float(value) * scale


def blob_digests(registry: Registry, name: str, tag: str) -> list[str]:
    manifest = run("curl", "-sf", "-H", f"Accept: {ACCEPT}",
                   f"http://{registry.host}/v2/{name}/manifests/{tag}").stdout
    return [layer["digest"] for layer in json.loads(manifest)["layers"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timed figure")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk figure")
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mb", type=int, default=20)
    parser.add_argument("--small-layers", type=int, default=200)
    parser.add_argument("--small-layer-kb", type=int, default=4)
    args = parser.parse_args()
    for tool in ("docker-registry", "docker", "skopeo", "wrk", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install -y docker-registry wrk skopeo)")
    ensure_dockerd()

    workdir = Path(tempfile.mkdtemp(prefix="skiff-registry-bench-"))
    times: dict[str, dict[str, list[float]]] = {}
    rates: dict[str, dict[str, float]] = {}
    big = build_big_image(workdir, args.layers, args.layer_mb)
    big_id = image_id(big)
    many = build_many_layer_layout(workdir, args.small_layers, args.small_layer_kb)
    total_mb = args.layers * args.layer_mb
    push_big, pull_big = f"docker push {total_mb} MB / {args.layers} layers", \
        f"docker pull {total_mb} MB / {args.layers} layers"
    skopeo_big = f"skopeo pull {total_mb} MB / {args.layers} layers"
    push_many, pull_many = f"skopeo push {args.small_layers} small layers", \
        f"skopeo pull {args.small_layers} small layers"

    def record(figure: str, label: str, seconds: float) -> None:
        times.setdefault(figure, {}).setdefault(label, []).append(seconds)
        print(f"  {figure:<36} {label:<9} {seconds:8.3f} s", flush=True)

    try:
        for rep in range(args.repeat):
            print(f"run {rep + 1}/{args.repeat}", flush=True)
            with registries(workdir / f"run{rep}") as started:
                order = list(started.values())
                if rep % 2:
                    order.reverse()
                for registry in order:
                    ref = f"{registry.host}/bench/big:1"
                    run("docker", "tag", big_id, ref)
                    record(push_big, registry.label, timed(lambda ref=ref: run("docker", "push", ref)))
                for registry in order:
                    ref = f"{registry.host}/bench/big:1"
                    run("docker", "rmi", "-f", big_id, check=False)
                    record(pull_big, registry.label, timed(lambda ref=ref: run("docker", "pull", ref)))
                run("docker", "tag", f"{order[-1].host}/bench/big:1", big)
                for registry in order:
                    target = workdir / f"skopeo-big-{registry.label}"
                    record(skopeo_big, registry.label, timed(lambda registry=registry, target=target: run(
                        *SKOPEO, "copy", "--src-tls-verify=false",
                        f"docker://{registry.host}/bench/big:1", f"dir:{target}")))
                    shutil.rmtree(target)
                for registry in order:
                    record(push_many, registry.label, timed(lambda registry=registry: run(
                        *SKOPEO, "copy", "--dest-tls-verify=false", f"oci:{many}:many",
                        f"docker://{registry.host}/bench/many:1")))
                for registry in order:
                    target = workdir / f"skopeo-many-{registry.label}"
                    record(pull_many, registry.label, timed(lambda registry=registry, target=target: run(
                        *SKOPEO, "copy", "--src-tls-verify=false",
                        f"docker://{registry.host}/bench/many:1", f"dir:{target}")))
                    shutil.rmtree(target)
                if rep == args.repeat - 1:
                    for registry in order:
                        digest = blob_digests(registry, "bench/big", "1")[0]
                        blob = f"http://{registry.host}/v2/bench/big/blobs/{digest}"
                        manifest = f"http://{registry.host}/v2/bench/big/manifests/1"
                        for figure, url, connections, threads, index in (
                                ("blob GET, 1 client (MB/s)", blob, 1, 1, 1),
                                ("blob GET, 8 clients (MB/s)", blob, 8, 2, 1),
                                ("manifest GET, 16 conns (req/s)", manifest, 16, 2, 0)):
                            value = wrk(url, connections, threads, args.duration)[index]
                            if index == 1:
                                value /= 1024 * 1024
                            rates.setdefault(figure, {})[registry.label] = value
                            print(f"  {figure:<36} {registry.label:<9} {value:10.1f}",
                                  flush=True)
    finally:
        run("docker", "rmi", "-f", big_id, check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{'figure':<38} {'skiff':>10} {'reference':>10} {'ratio':>7}")
    for figure, by_label in times.items():
        skiff, reference = (statistics.median(by_label[k]) for k in ("skiff", "reference"))
        print(f"{figure + ' (s)':<38} {skiff:10.3f} {reference:10.3f} {reference / skiff:7.2f}")
    for figure, by_label in rates.items():
        skiff, reference = by_label["skiff"], by_label["reference"]
        print(f"{figure:<38} {skiff:10.1f} {reference:10.1f} {skiff / reference:7.2f}")
    print("\nratio > 1.0: Skiff faster (reference/skiff for times, skiff/reference for rates)")


if __name__ == "__main__":
    main()
