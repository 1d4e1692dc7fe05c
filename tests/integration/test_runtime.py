"""The agent's Docker adapter against the real local dockerd.

Every container gets a fresh task id and a per-test instance id; a finalizer removes whatever the
test created (found by that instance label). Docker's own view is read with the docker CLI, so
`agent.runtime` stays the only importer of the SDK.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import socket
import socketserver
import threading
import time
import urllib.request
import uuid
from dataclasses import replace
from typing import Callable, Iterator

import pytest

from agent.runtime import (
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_HOST_PORTS,
    LABEL_INSTANCE,
    LABEL_TASK_ID,
    ContainerNotFound,
    ContainerRuntimeError,
    ContainerSpec,
    HealthCheck,
    ImageNotFound,
    NetworkBinding,
    PortSpec,
    RuntimeUnavailable,
    docker_container_name,
)
from agent.runtime.docker_sdk import DockerRuntime
from agent.runtime.unix_http import unix_socket_path
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import free_port, wait_until

pytestmark = pytest.mark.integration

IMAGE = "skiff-test/runtime:1"
# The image is FROM scratch plus busybox: no /tmp, so make the document root first.
HTTPD = ("mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www",)
SpecFactory = Callable[..., ContainerSpec]


@pytest.fixture(scope="module")
def image(docker_engine) -> str:
    return build_busybox_image(IMAGE)


@pytest.fixture(scope="module")
def runtime(docker_engine) -> Iterator[DockerRuntime]:
    rt = DockerRuntime()
    yield rt
    rt.close()


@pytest.fixture
def make_spec(runtime: DockerRuntime, image: str) -> Iterator[SpecFactory]:
    """Build specs with a fresh task id; remove every container of this test's instances after."""
    instances: set[str] = set()
    default_instance = f"test-{uuid.uuid4().hex[:12]}"

    def make(**fields) -> ContainerSpec:
        fields.setdefault("instance_id", default_instance)
        instances.add(fields["instance_id"])
        values = dict(task_id=uuid.uuid4().hex, container_name="app", cluster="test",
                      image=image)
        values.update(fields)
        return ContainerSpec(**values)

    yield make
    for instance in instances:
        for state in runtime.list_containers(instance):
            runtime.remove(state.container_id)
    for instance in instances:
        assert runtime.list_containers(instance) == []


def docker_inspect(container_id: str) -> dict:
    return json.loads(docker_cli("inspect", container_id).stdout)[0]


def wait_for_status(runtime: DockerRuntime, container_id: str, predicate, timeout: float = 20):
    def check():
        state = runtime.inspect(container_id)
        return state if predicate(state) else None

    return wait_until(check, timeout, message=f"container {container_id[:12]} state")


# --- lifecycle -------------------------------------------------------------------------------

def test_http_server_on_dynamic_host_port(runtime: DockerRuntime, make_spec: SpecFactory):
    spec = make_spec(entry_point=("/bin/sh", "-c"), command=HTTPD,
                     port_mappings=(PortSpec(container_port=8080, host_port=0),))
    created = runtime.create(spec)
    container_id = created.container_id
    assert runtime.inspect(container_id) == created  # what create says is what Docker says
    runtime.start(container_id)
    runtime.start(container_id)  # already running: fine

    state = wait_for_status(runtime, container_id, lambda s: s.running and s.network_bindings)
    assert state.name == docker_container_name(spec.task_id, spec.container_name)
    assert (state.task_id, state.container_name) == (spec.task_id, "app")
    assert state.exit_code is None and state.started_at and state.finished_at is None
    # One binding although Docker may list it for both 0.0.0.0 and ::.
    (binding,) = state.network_bindings
    assert (binding.bind_ip, binding.container_port, binding.protocol) == ("0.0.0.0", 8080, "tcp")
    assert binding.host_port > 0

    def fetch() -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{binding.host_port}/", timeout=2) as r:
            return r.read()

    assert wait_until(fetch, 20, interval=0.1, message="httpd answers") == b"hello\n"


def test_fixed_host_port_binding(runtime: DockerRuntime, make_spec: SpecFactory):
    port = free_port()
    spec = make_spec(entry_point=("/bin/sh", "-c"), command=HTTPD,
                     port_mappings=(PortSpec(container_port=8080, host_port=port),))
    container_id = runtime.create(spec).container_id
    runtime.start(container_id)
    state = wait_for_status(runtime, container_id, lambda s: s.running and s.network_bindings)
    assert state.network_bindings == (NetworkBinding("0.0.0.0", 8080, port, "tcp"),)


def test_limits_env_labels_and_workdir_applied(runtime: DockerRuntime, make_spec: SpecFactory):
    spec = make_spec(cpu=256, memory=64, memory_reservation=32,
                     environment=(("GREETING", "hi there"), ("EMPTY", "")),
                     docker_labels=(("team", "infra"), (LABEL_TASK_ID, "spoofed")),
                     working_directory="/tmp", command=("sleep", "600"))
    attrs = docker_inspect(runtime.create(spec).container_id)
    host = attrs["HostConfig"]
    assert host["CpuShares"] == 256
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["MemoryReservation"] == 32 * 1024 * 1024
    assert host["NetworkMode"] == "bridge"
    config = attrs["Config"]
    assert "GREETING=hi there" in config["Env"] and "EMPTY=" in config["Env"]
    assert config["Labels"] == {
        "team": "infra",
        LABEL_TASK_ID: spec.task_id,  # a user label cannot override Skiff's own
        LABEL_CONTAINER_NAME: "app",
        LABEL_CLUSTER: "test",
        LABEL_INSTANCE: spec.instance_id,
    }
    assert config["WorkingDir"] == "/tmp"
    assert config["Cmd"] == ["sleep", "600"]
    assert not config["Entrypoint"]


def test_defaults_keep_image_command_and_minimum_cpu_shares(runtime: DockerRuntime,
                                                            make_spec: SpecFactory):
    attrs = docker_inspect(runtime.create(make_spec()).container_id)
    assert attrs["HostConfig"]["CpuShares"] == 2  # ECS: 0 CPU units -> the minimum, not 1024
    assert attrs["HostConfig"]["Memory"] == 0 and attrs["HostConfig"]["MemoryReservation"] == 0
    assert not attrs["HostConfig"].get("Init")
    assert attrs["Config"]["Cmd"] == ["/bin/sh"]  # the image's CMD
    assert not attrs["Config"]["Entrypoint"]


def test_health_check_and_stop_timeout_are_docker_config(runtime: DockerRuntime,
                                                          make_spec: SpecFactory):
    check = HealthCheck(("CMD-SHELL", "mkdir -p /x && touch /x/ok"), interval=0.2, timeout=2,
                        retries=4, start_period=1.5)
    container_id = runtime.create(make_spec(init=True, command=("sleep", "600"),
                                            healthcheck=check, stop_timeout=7)).container_id
    config = docker_inspect(container_id)["Config"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "mkdir -p /x && touch /x/ok"],
                                     "Interval": 200_000_000, "Timeout": 2_000_000_000,
                                     "Retries": 4, "StartPeriod": 1_500_000_000}
    assert config["StopTimeout"] == 7
    created = runtime.inspect(container_id)
    assert (created.health, created.stop_timeout) == (None, 7)  # checks run once started
    runtime.start(container_id)
    healthy = wait_for_status(runtime, container_id, lambda s: s.health == "healthy")
    assert healthy.running


def test_without_health_check_health_is_none(runtime: DockerRuntime, make_spec: SpecFactory):
    container_id = runtime.create(make_spec(init=True, command=("sleep", "600"))).container_id
    assert "Healthcheck" not in docker_inspect(container_id)["Config"]
    runtime.start(container_id)
    state = wait_for_status(runtime, container_id, lambda s: s.running)
    assert (state.health, state.stop_timeout) == (None, None)


def test_host_mode_reports_container_ports(runtime: DockerRuntime, make_spec: SpecFactory):
    spec = make_spec(network_mode="host", command=("sleep", "600"),
                     port_mappings=(PortSpec(80, 0), PortSpec(53, 53, "udp")))
    container_id = runtime.create(spec).container_id
    attrs = docker_inspect(container_id)
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert not attrs["HostConfig"]["PortBindings"]
    assert attrs["Config"]["Labels"][LABEL_HOST_PORTS] == "80/tcp,53/udp"
    assert runtime.inspect(container_id).network_bindings == (
        NetworkBinding("0.0.0.0", 80, 80, "tcp"), NetworkBinding("0.0.0.0", 53, 53, "udp"))


def test_create_twice_adopts_the_existing_container(runtime: DockerRuntime,
                                                    make_spec: SpecFactory):
    spec = make_spec(command=("sleep", "600"))
    first = runtime.create(spec).container_id
    again = runtime.create(spec)
    assert again.container_id == first
    assert again == runtime.inspect(first)  # the adopted one's state, as Docker has it
    # A restarted agent with a different in-memory view still gets the same container.
    restarted = DockerRuntime()
    try:
        assert restarted.create(replace(spec, environment=(("X", "1"),))).container_id == first
    finally:
        restarted.close()
    same_task = [s for s in runtime.list_containers(spec.instance_id) if s.task_id == spec.task_id]
    assert [s.container_id for s in same_task] == [first]


def test_name_taken_by_another_task_is_an_error(runtime: DockerRuntime, make_spec: SpecFactory):
    spec = make_spec(command=("sleep", "600"))
    runtime.create(spec)
    name = docker_container_name(spec.task_id, spec.container_name)
    docker_cli("rm", "-f", name)
    docker_cli("create", "--name", name, "--label", f"{LABEL_INSTANCE}={spec.instance_id}",
               "--label", f"{LABEL_TASK_ID}=someone-else", spec.image)
    with pytest.raises(ContainerRuntimeError) as info:
        runtime.create(spec)
    assert not info.value.retriable


def test_exit_code_reported(runtime: DockerRuntime, make_spec: SpecFactory):
    container_id = runtime.create(make_spec(entry_point=("sh", "-c"),
                                            command=("exit 3",))).container_id
    runtime.start(container_id)
    state = wait_for_status(runtime, container_id, lambda s: s.exited)
    assert (state.status, state.exit_code, state.running) == ("exited", 3, False)
    assert state.started_at and state.finished_at
    assert state.network_bindings == ()


def test_stop_with_init_is_fast_and_idempotent(runtime: DockerRuntime, make_spec: SpecFactory):
    container_id = runtime.create(make_spec(init=True, command=("sleep", "600"))).container_id
    assert docker_inspect(container_id)["HostConfig"]["Init"] is True
    runtime.start(container_id)
    wait_for_status(runtime, container_id, lambda s: s.running)

    started = time.monotonic()
    runtime.stop(container_id, timeout=30)
    assert time.monotonic() - started < 5  # docker-init passed SIGTERM on; no 30 s SIGKILL wait
    state = runtime.inspect(container_id)
    assert state.exited and state.exit_code == 143  # 128 + SIGTERM

    runtime.stop(container_id, timeout=1)  # already stopped: fine
    runtime.remove(container_id)
    runtime.remove(container_id)  # gone: done
    runtime.stop(container_id, timeout=1)  # gone: done
    with pytest.raises(ContainerNotFound):
        runtime.inspect(container_id)
    with pytest.raises(ContainerNotFound):
        runtime.start(container_id)


def test_missing_container_operations(runtime: DockerRuntime, docker_engine):
    missing = docker_container_name(uuid.uuid4().hex, "ghost")
    runtime.stop(missing, timeout=1)
    runtime.remove(missing)
    with pytest.raises(ContainerNotFound) as info:
        runtime.inspect(missing)
    assert not info.value.retriable


def test_list_containers_filters_by_instance(runtime: DockerRuntime, make_spec: SpecFactory):
    instance_a, instance_b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    a1 = runtime.create(make_spec(instance_id=instance_a, container_name="one")).container_id
    a2 = runtime.create(make_spec(instance_id=instance_a, container_name="two",
                                  entry_point=("sh", "-c"), command=("exit 0",))).container_id
    runtime.start(a2)
    wait_for_status(runtime, a2, lambda s: s.exited)
    b1 = runtime.create(make_spec(instance_id=instance_b)).container_id

    listed_a = {s.container_id: s for s in runtime.list_containers(instance_a)}
    assert set(listed_a) == {a1, a2}  # stopped containers included
    assert {s.container_name for s in listed_a.values()} == {"one", "two"}
    assert [s.container_id for s in runtime.list_containers(instance_b)] == [b1]
    everything = {s.container_id for s in runtime.list_containers()}
    assert {a1, a2, b1} <= everything
    assert runtime.list_containers(f"nobody-{uuid.uuid4().hex}") == []


# --- images ----------------------------------------------------------------------------------

def test_image_present(runtime: DockerRuntime, image: str):
    assert runtime.image_present(image)
    assert not runtime.image_present(f"skiff-test/absent-{uuid.uuid4().hex[:8]}:1")


def test_create_with_absent_image_is_image_not_found(runtime: DockerRuntime,
                                                     make_spec: SpecFactory):
    with pytest.raises(ImageNotFound):
        runtime.create(make_spec(image=f"skiff-test/absent-{uuid.uuid4().hex[:8]}:1"))


def test_pull_from_unreachable_registry_is_retriable(runtime: DockerRuntime, docker_engine):
    # Docker answers 500 "dial tcp 127.0.0.1:1: connect: connection refused": the registry may
    # be restarting, so the engine may try again (within its own budget).
    with pytest.raises(RuntimeUnavailable) as info:
        runtime.pull("127.0.0.1:1/nope:1")
    assert info.value.retriable


class _StubRegistry(http.server.BaseHTTPRequestHandler):
    """Answers like an OCI registry that has one manifest whose only layer is missing."""

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]}}).encode()

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, body: bytes, content_type: str, headers=()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, code: int, error: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": error, "message": message}]}).encode()
        self._send(code, body, "application/json")

    def do_GET(self) -> None:
        config_digest = "sha256:" + hashlib.sha256(self.config).hexdigest()
        if self.path == "/v2/":
            return self._send(200, b"{}", "application/json")
        if self.path == "/v2/broken/manifests/1":
            manifest = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": len(self.config), "digest": config_digest},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": 10, "digest": "sha256:" + "b" * 64}],
            }).encode()
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            return self._send(200, manifest, "application/vnd.docker.distribution.manifest.v2+json",
                              [("Docker-Content-Digest", digest)])
        if self.path == f"/v2/broken/blobs/{config_digest}":
            return self._send(200, self.config, "application/octet-stream")
        if "/blobs/" in self.path:
            return self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if self.path.startswith("/v2/broken/"):
            return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        return self._error(404, "NAME_UNKNOWN", "repository name not known to registry")

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def stub_registry() -> Iterator[str]:
    """host:port of a loopback registry stub (Docker trusts 127.0.0.0/8 over plain HTTP)."""

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), _StubRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("reference, error, retriable", [
    pytest.param("broken:2", ImageNotFound, False, id="manifest-unknown"),
    pytest.param("absent:1", ImageNotFound, False, id="name-unknown"),
    pytest.param("broken:1", ContainerRuntimeError, False, id="blob-unknown-mid-stream"),
])
def test_pull_errors_from_registry_are_classified(runtime: DockerRuntime, docker_engine,
                                                  stub_registry: str, reference: str,
                                                  error: type, retriable: bool):
    with pytest.raises(error) as info:
        runtime.pull(f"{stub_registry}/{reference}")
    assert info.value.retriable is retriable
    assert not isinstance(info.value, RuntimeUnavailable)


# --- the daemon and names --------------------------------------------------------------------

def test_unreachable_daemon_is_retriable(tmp_path):
    down = DockerRuntime(base_url=f"unix://{tmp_path}/no-docker.sock", timeout=2)
    assert down.ping() is False
    with pytest.raises(RuntimeUnavailable) as info:
        down.inspect("anything")
    assert info.value.retriable
    with pytest.raises(RuntimeUnavailable):
        down.list_containers()
    down.close()


def test_ping(runtime: DockerRuntime):
    assert runtime.ping() is True


@pytest.mark.parametrize("task_id, container_name", [
    pytest.param(uuid.UUID(int=0).hex, "web", id="zero-task"),
    pytest.param("0123456789abcdef0123456789abcdef", "A_b-9", id="mixed-name"),
    pytest.param("f" * 32, "x" * 255, id="longest-name"),
])
def test_docker_container_name_is_deterministic_and_valid(task_id: str, container_name: str):
    name = docker_container_name(task_id, container_name)
    assert name == docker_container_name(task_id, container_name)
    assert name == f"skiff-{task_id}-{container_name}"
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", name)
    assert docker_container_name(task_id, container_name + "2") != name


@pytest.mark.parametrize("task_id, container_name", [
    pytest.param("abc-def", "web", id="dash-in-task-id"),
    pytest.param("abc", "web/1", id="slash-in-name"),
    pytest.param("abc", "", id="empty-name"),
    pytest.param("", "web", id="empty-task-id"),
])
def test_docker_container_name_rejects_unusable_input(task_id: str, container_name: str):
    with pytest.raises(ValueError):
        docker_container_name(task_id, container_name)


def test_a_kept_alive_connection_the_daemon_closed_is_opened_again(runtime: DockerRuntime,
                                                                    make_spec: SpecFactory):
    state = runtime.create(make_spec(command=("sleep", "30")))
    runtime.inspect(state.container_id)  # a connection is open and idle now
    keepalive = runtime._keepalive
    assert keepalive is not None, "dockerd is on the local socket here"
    assert keepalive._idle
    for connection in keepalive._idle:
        connection.sock.shutdown(socket.SHUT_RDWR)  # as a restarted dockerd would
    assert runtime.inspect(state.container_id).status == "created"
    runtime.start(state.container_id)
    assert runtime.inspect(state.container_id).running


@pytest.mark.parametrize("base_url, path", [
    (None, "/var/run/docker.sock"),
    ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
    ("http+unix:///var/run/docker.sock", "/var/run/docker.sock"),
    ("tcp://127.0.0.1:2376", None),  # TCP (and TLS) go through the SDK
])
def test_which_engines_get_the_kept_alive_socket(base_url, path):
    assert unix_socket_path(base_url) == path


def test_threads_that_come_and_go_share_the_kept_alive_connections(runtime: DockerRuntime,
                                                                    make_spec: SpecFactory):
    """Task workers are threads of their own: their calls must not leave a connection each."""
    state = runtime.create(make_spec(command=("sleep", "30")))
    for _ in range(20):
        thread = threading.Thread(target=runtime.inspect, args=(state.container_id,))
        thread.start()
        thread.join()
    assert len(runtime._keepalive._idle) == 1
