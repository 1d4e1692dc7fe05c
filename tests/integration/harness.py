"""Skiff's components as separate processes, the way they run on real machines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc, types_pb2
from skiffcore.contexts import ClientConfig, Context, bootstrap_context, channel_for
from skiffharness.processes import free_port, port_open, wait_until


SKIFF = [sys.executable, "-m", "skiff.cli"]  # the CLI, as a user runs it


# Every test control plane on one etcd shares a state dir: one secrets key seals the cluster
# CA in that etcd, and the first one writes the first admin's token to its bootstrap.json.
# Tests then call the API as that admin, through contexts kept in a client config there.
_STATE: dict[str, Path] = {}  # control-plane endpoint -> its state dir


def controlplane_state(etcd: str) -> Path:
    return Path(tempfile.gettempdir()) / f"skiff-tests-{os.getuid()}" / etcd.replace(":", "_")


def client_config(endpoint: str) -> Path | None:
    state = _STATE.get(endpoint)
    return state / "client.json" if state else None


def context_for(endpoint: str) -> Context:
    """The admin's context for a control plane the harness started (plaintext otherwise)."""
    path = client_config(endpoint)
    return ClientConfig.load(path).resolve(endpoint) if path else Context(endpoint)


def join_token(endpoint: str) -> str:
    """The join token of the cluster behind a control plane the harness started."""
    return (_STATE[endpoint] / "join-token").read_text().strip()


def skiff_env(endpoint: str) -> dict[str, str]:
    """The environment a `skiff` process needs to call `endpoint` as the admin."""
    env = dict(os.environ)
    config = client_config(endpoint)
    if config:
        env["SKIFF_CONFIG"] = str(config)
    return env


def skiff(endpoint: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """`skiff --endpoint ENDPOINT ARGS...` as the admin, its output captured as text."""
    return subprocess.run([*SKIFF, "--endpoint", endpoint, *args], capture_output=True,
                          text=True, check=check, env=skiff_env(endpoint))


class Component:
    """`python -m skiff.cli <args>` in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], log_dir: Path):
        self.name, self.args = name, args
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Component":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*SKIFF, *self.args],
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start_registry(data: Path, log_dir: Path, *extra: str) -> tuple[Component, str]:
    port = free_port()
    registry = Component("registry", ["registry", "serve", "--port", str(port), "--data", str(data),
                                      *extra], log_dir).start()

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as response:
                return response.status == 200
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, and asking for credentials

    wait_until(ready, 30, message="registry")
    return registry, f"127.0.0.1:{port}"


def start_identity_registry(data: Path, log_dir: Path) -> tuple[Component, str, Path]:
    """A registry with authentication, whose users a control plane started with
    `registry_args(address, auth_file)` keeps: (component, address, auth file)."""
    from skiffharness.stack import ensure_registry_auth_file

    auth_file = data.parent / f"{data.name}-auth.json"
    ensure_registry_auth_file(auth_file)
    registry, address = start_registry(data, log_dir, "--auth-file", str(auth_file))
    return registry, address, auth_file


def registry_args(address: str, auth_file: Path) -> tuple[str, ...]:
    return ("--registry", address, "--registry-auth-file", str(auth_file))


def docker_login(docker_config: Path, address: str, user: str, token: str,
                 timeout: float = 10) -> subprocess.CompletedProcess:
    """`docker --config DIR login` (never the user's own config); retried while the registry
    has not yet read the users the control plane wrote (it looks once a second)."""
    def attempt() -> subprocess.CompletedProcess | None:
        result = subprocess.run(["docker", "--config", str(docker_config), "login", address,
                                 "-u", user, "--password-stdin"], input=token, text=True,
                                capture_output=True)
        return result if result.returncode == 0 else None

    try:
        return wait_until(attempt, timeout, interval=0.5, message=f"docker login as {user}")
    except TimeoutError:
        return subprocess.run(["docker", "--config", str(docker_config), "login", address, "-u",
                               user, "--password-stdin"], input=token, text=True,
                              capture_output=True)


def start_controlplane(etcd: str, log_dir: Path, port: int | None = None,
                       name: str = "controlplane",
                       extra: tuple[str, ...] = ()) -> tuple[Component, str]:
    """A TLS control plane: API on `port`, machines (agents, peers) on `port` + 1; `extra` are
    more `controlplane serve` options."""
    port = port or free_port_pair()
    endpoint = f"127.0.0.1:{port}"
    state = controlplane_state(etcd)
    # Short timeouts so that tests about lost agents finish quickly.
    cp = Component(name, ["controlplane", "serve", "--etcd", etcd, "--listen", endpoint,
                          "--machines-listen", f"127.0.0.1:{port + 1}", "--state-dir", str(state),
                          "--session-timeout", "3", "--lost-after", "3", *extra],
                   log_dir).start()
    wait_until(lambda: port_open("127.0.0.1", port) and port_open("127.0.0.1", port + 1), 30,
               message="control plane")
    admin = wait_until(lambda: bootstrap_context(state / "bootstrap.json"), 30,
                       message="the first admin's token")
    admin.endpoint = endpoint
    config = ClientConfig.load(state / "client.json")
    config.put(endpoint, admin, make_current=False)
    config.save()
    _STATE[endpoint] = state
    return cp, endpoint


def free_port_pair() -> int:
    """A free port whose successor is free too."""
    for _ in range(100):
        port = free_port()
        if port < 65535 and not port_open("127.0.0.1", port + 1):
            try:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two free ports in a row")


def start_agent(endpoint: str, state_dir: Path, log_dir: Path, name: str = "agent-1",
                cluster: str = "default", extra: tuple[str, ...] = ()) -> Component:
    """An agent process, joining with the cluster's token; `extra` are more `agent serve`
    options."""
    join = (["--join-token-file", str(_STATE[endpoint] / "join-token")]
            if endpoint in _STATE else [])
    return Component(name, ["agent", "serve", "--endpoint", endpoint, "--state-dir", str(state_dir),
                            "--name", name, "--cluster", cluster, "--stop-timeout", "5",
                            "--heartbeat-interval", "1", *join, *extra],
                     log_dir).start()


class Client:
    """The ControlPlane API with the waits tests need."""

    def __init__(self, endpoint: str, cluster: str = "default", context: Context | None = None):
        self.channel = channel_for(context or context_for(endpoint))
        self.api = controlplane_pb2_grpc.ControlPlaneStub(self.channel)
        self.cluster = cluster

    def register(self, document: str) -> pb.TaskDefinition:
        return self.api.RegisterTaskDefinition(
            pb.RegisterTaskDefinitionRequest(task_definition_json=document), timeout=10).task_definition

    def run(self, taskdef: str, count: int = 1) -> pb.RunTaskResponse:
        return self.api.RunTask(pb.RunTaskRequest(cluster=self.cluster, task_definition=taskdef,
                                                  count=count), timeout=30)

    def describe(self, task_id: str) -> types_pb2.Task:
        return self.api.DescribeTasks(pb.DescribeTasksRequest(cluster=self.cluster, tasks=[task_id]),
                                      timeout=10).tasks[0]

    def wait_status(self, task_id: str, status: str, timeout: float = 60) -> types_pb2.Task:
        wanted = types_pb2.TaskStatus.Value(f"TASK_STATUS_{status}")
        return wait_until(lambda: (t := self.describe(task_id)).last_status == wanted and t,
                          timeout, interval=0.1, message=f"task {task_id} {status}")

    def stop(self, task_id: str, reason: str = "") -> types_pb2.Task:
        return self.api.StopTask(pb.StopTaskRequest(cluster=self.cluster, task=task_id,
                                                    reason=reason), timeout=10).task

    def instances(self) -> list[types_pb2.ContainerInstance]:
        arns = self.api.ListContainerInstances(
            pb.ListContainerInstancesRequest(cluster=self.cluster), timeout=10).container_instance_arns
        if not arns:
            return []
        return list(self.api.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
            cluster=self.cluster, container_instances=arns), timeout=10).container_instances)

    def wait_connected(self, timeout: float = 30, count: int = 1) -> types_pb2.ContainerInstance:
        """The first connected instance, once `count` instances are connected."""
        def connected():
            found = [i for i in self.instances() if i.agent_connected]
            return len(found) >= count and found[0]

        return wait_until(connected, timeout, interval=0.2, message=f"{count} connected agent(s)")

    def tasks(self, desired: str = "RUNNING") -> list[types_pb2.Task]:
        arns = self.api.ListTasks(pb.ListTasksRequest(cluster=self.cluster, desired_status=desired),
                                  timeout=10).task_arns
        if not arns:
            return []
        return list(self.api.DescribeTasks(pb.DescribeTasksRequest(cluster=self.cluster, tasks=arns),
                                           timeout=10).tasks)

    def service(self, name: str) -> pb.Service:
        return self.api.DescribeServices(pb.DescribeServicesRequest(
            cluster=self.cluster, services=[name]), timeout=10).services[0]

    def close(self) -> None:
        self.channel.close()
