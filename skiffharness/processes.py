"""Starting the third-party processes Skiff runs on (etcd, dockerd), and waiting for things.

Used by `skiff up`, the test fixtures and the benchmarks, so that all of them
start etcd and dockerd the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, interval: float = 0.05,
               message: str = "condition") -> T:
    """Poll `condition` until it returns a truthy value; raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the condition may fail until the thing is up
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}"
                               + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class EtcdProcess:
    """A single-member etcd on loopback with its own data dir."""

    def __init__(self, data_dir: Path, client_port: int | None = None,
                 peer_port: int | None = None, log_path: Path | None = None,
                 client_tls: tuple[Path, Path, Path] | None = None):
        """`client_tls`: (server certificate, its key, CA of the client certificates): clients
        then connect over TLS and must present a certificate that CA signed."""
        self.client_tls = client_tls
        self.data_dir = Path(data_dir)
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.log_path = log_path or self.data_dir.parent / "etcd.log"
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def command(self) -> list[str]:
        """The etcd command line (creates the data dir); the same ports on every start, so a
        restarted member finds its peer URL unchanged."""
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError("etcd is not installed (apt-get install etcd-server)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        scheme = "https" if self.client_tls else "http"
        client = f"{scheme}://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        tls: list[str] = []
        if self.client_tls:
            cert, key, ca = self.client_tls
            tls = ["--cert-file", str(cert), "--key-file", str(key), "--client-cert-auth",
                   "--trusted-ca-file", str(ca)]
        return [binary, "--name", "skiff", "--data-dir", str(self.data_dir),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"skiff={peer}", *tls]

    def start(self, timeout: float = 20.0,
              on_spawn: Callable[[int], None] | None = None) -> "EtcdProcess":
        """Start etcd and wait for its client port; `on_spawn(pid)` runs as soon as it exists,
        so a caller can record the process even if it never becomes ready."""
        command = self.command()
        log = open(self.log_path, "ab")
        self.process = process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                  start_new_session=True)
        log.close()
        if on_spawn:
            on_spawn(self.process.pid)
        wait_until(lambda: process.poll() is None and port_open("127.0.0.1", self.client_port),
                   timeout, message=f"etcd on {self.endpoint}")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def docker_running(base_url: str | None = None) -> bool:
    from agent.runtime.docker_sdk import DockerRuntime  # the one module that speaks to Docker

    runtime = DockerRuntime(base_url, timeout=3)
    try:
        return runtime.ping()
    finally:
        runtime.close()


def ensure_dockerd(timeout: float = 60.0, log_path: str = "/var/log/skiff-dockerd.log") -> None:
    """Start dockerd in the background when no Docker engine answers on the default socket."""
    if docker_running():
        return
    binary = shutil.which("dockerd")
    if binary is None:
        raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise RuntimeError("dockerd is not running and only root can start it")
    with open(log_path, "ab") as log:
        subprocess.Popen([binary], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(docker_running, timeout, interval=0.25, message="dockerd")
