"""The single-machine stack behind `skiff up` / `skiff down`.

Each component runs as its own process, as it would on separate machines:

    <state-dir>/etcd/         etcd data          (etcd on a loopback port)
    <state-dir>/registry/     registry blobs     (127.0.0.1:5000)
    <state-dir>/agent/        the agent's identity (agent-2/, ... with `--agents N`)
    <state-dir>/logs/*.log    one log per component
    <state-dir>/stack.json    pids and ports, for `skiff down`
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from skiffharness.processes import EtcdProcess, ensure_dockerd, free_port, port_open, wait_until

REGISTRY_HOST, REGISTRY_PORT = "127.0.0.1", 5000
COMPONENTS = ("etcd", "registry", "controlplane")  # then the agents; stop is the reverse


class StackError(Exception):
    pass


class Stack:
    def __init__(self, state_dir: Path, endpoint: str, registry_port: int = REGISTRY_PORT):
        self.state_dir = Path(state_dir).absolute()
        self.endpoint = endpoint
        self.registry_port = registry_port
        self.registry_address = f"{REGISTRY_HOST}:{registry_port}"
        self._record = self.state_dir / "stack.json"
        self._pids: dict[str, int] = {}

    def _log(self, name: str):
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        return open(self.state_dir / "logs" / f"{name}.log", "ab")

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        with self._log(name) as log:
            process = subprocess.Popen([sys.executable, "-m", "skiff.cli", "--endpoint",
                                        self.endpoint, *args], stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self._remember(name, process.pid)
        return process

    def _remember(self, name: str, pid: int) -> None:
        self._pids[name] = pid
        self._save()

    def _save(self, **extra) -> None:
        data = self._load()
        data.update(extra)
        data["pids"] = dict(data.get("pids", {}), **self._pids)
        # A pid alone can be reused after a crash or reboot: remember when each process started.
        data["started"] = dict(data.get("started", {}),
                               **{n: _start_time(p) for n, p in self._pids.items()})
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._record.write_text(json.dumps(data))

    def _load(self) -> dict:
        try:
            return json.loads(self._record.read_text())
        except (OSError, ValueError):
            return {}

    def up(self, stop_timeout: float = 30.0, timeout: float = 60.0,
           agent_args: tuple[str, ...] = (), agents: int = 1) -> None:
        """Start everything; `agents` container instances share the local Docker engine."""
        if self._ours():
            raise StackError(f"a stack is already running from {self.state_dir} (skiff down first)")
        self._record.unlink(missing_ok=True)
        host, _, port = self.endpoint.rpartition(":")
        for address, what in ((self.endpoint, "the control plane"),
                              (self.registry_address, "the registry")):
            h, _, p = address.rpartition(":")
            if port_open(h, int(p)):
                raise StackError(f"{address} is already in use; {what} cannot listen there")
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            ensure_dockerd()
            etcd = EtcdProcess(self.state_dir / "etcd", client_port=free_port(),
                               log_path=self.state_dir / "logs" / "etcd.log")
            etcd.start(on_spawn=lambda pid: self._remember("etcd", pid))
            self._save(etcd=etcd.endpoint)
            self._spawn("registry", ["registry", "serve", "--host", REGISTRY_HOST, "--port",
                                     str(self.registry_port), "--data", str(self.state_dir / "registry")])
            self._spawn("controlplane", ["controlplane", "serve", "--etcd", etcd.endpoint,
                                         "--listen", self.endpoint])
            for n in range(1, agents + 1):
                name = "agent" if n == 1 else f"agent-{n}"
                self._spawn(name, ["agent", "serve", "--state-dir", str(self.state_dir / name),
                                   "--name", f"{socket.gethostname()}-{n}" if agents > 1 else "",
                                   "--stop-timeout", str(stop_timeout), *agent_args])
            wait_until(lambda: _registry_ready(self.registry_address), timeout,
                       message=f"the registry on {self.registry_address}")
            wait_until(lambda: port_open(host, int(port)), timeout,
                       message=f"the control plane on {self.endpoint}")
            wait_until(lambda: self._agents_connected() >= agents, timeout, interval=0.2,
                       message=f"{agents} agent(s) to connect")
        except (TimeoutError, RuntimeError) as exc:
            self.down()
            raise StackError(f"{exc}; see the logs in {self.state_dir / 'logs'}") from exc

    def _agents_connected(self) -> int:
        import grpc

        from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc

        with grpc.insecure_channel(self.endpoint) as channel:
            stub = controlplane_pb2_grpc.ControlPlaneStub(channel)
            arns = stub.ListContainerInstances(pb.ListContainerInstancesRequest(), timeout=5)
            if not arns.container_instance_arns:
                return 0
            described = stub.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
                container_instances=arns.container_instance_arns), timeout=5)
            return sum(i.agent_connected for i in described.container_instances)

    def _ours(self) -> dict[str, int]:
        """The recorded processes that are still the ones this stack started."""
        data = self._load()
        started = data.get("started", {})
        return {name: pid for name, pid in data.get("pids", {}).items()
                if _alive(pid) and started.get(name) == _start_time(pid)}

    def wait(self) -> None:
        """Block until interrupted or a component dies, then stop everything."""
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while all(_alive(pid) for pid in self._pids.values()):
                time.sleep(1)  # supervising processes: nothing to wait on but their exit
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C or SIGTERM must not cut the shutdown short.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.down()

    def down(self, timeout: float = 40.0) -> list[str]:
        ours = self._ours()
        stopped = []
        agents = sorted(name for name in ours if name.startswith("agent"))
        for name in agents + list(reversed(COMPONENTS)):
            pid = ours.get(name)
            if pid:
                _terminate(pid, timeout)
                stopped.append(name)
        self._record.unlink(missing_ok=True)
        return stopped


def _registry_ready(address: str) -> bool:
    with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response:
        return response.status == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not _alive(pid), timeout, interval=0.1, message=f"pid {pid} to exit")
        return
    except ProcessLookupError:
        return
    except TimeoutError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
