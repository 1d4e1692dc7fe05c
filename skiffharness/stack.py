"""The single-machine stack behind `skiff up` / `skiff down`, and the supervisor that keeps it up.

Each component runs as its own process, as it would on separate machines:

    <state-dir>/etcd/         etcd data          (etcd on a loopback port)
    <state-dir>/controlplane/ secrets.key (seals the CA key in etcd), bootstrap.json (the first
                              admin's token and the CA), join-token (for the local agents)
    <state-dir>/registry/     registry blobs     (127.0.0.1:5000)
    <state-dir>/registry-auth.json  the registry's users (the control plane writes the
                              cluster's users there) and the secret its tokens are signed with
    <state-dir>/agent/        the agent's identity (agent-2/, ... with `--agents N`)
    <state-dir>/logs/*.log    one log per component, and supervisor.log
    <state-dir>/stack.json    settings, and the pid and start time of the supervisor and of each
                              component (`pids`: the components only)

`Stack.up` starts a supervisor (`python -m skiffharness.stack supervise STATE_DIR`, in a session
of its own) and waits until the registry answers, the control plane listens and the agents are
connected. The supervisor owns the components: it starts what is not running, and restarts a
component that exits with exponential back-off (1 s, doubling up to a minute; reset once the
component has stayed up a minute), saying so in its log and in the component's. `Stack.up` on a
partly running stack starts what is missing (a new supervisor adopts the components still
running). `Stack.down` stops the supervisor, which stops the components (agents first, etcd
last), then the containers of the stack's tasks unless asked to keep them.

The registry runs with authentication: it knows the control plane's users (name and API token;
pull for viewers, push for operators and admins), and agents pull with tokens the control plane
issues them. Once the stack serves, `up` logs the local Docker client in to the registry as the
first admin (`docker login --password-stdin`), so `docker push 127.0.0.1:5000/...` just works.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from skiffcore.contexts import ClientConfig, Context, bootstrap_context, channel_for
from skiffharness.processes import EtcdProcess, ensure_dockerd, free_port, port_open, wait_until

REGISTRY_HOST, REGISTRY_PORT = "127.0.0.1", 5000
COMPONENTS = ("etcd", "registry", "controlplane")  # then the agents; stop is the reverse
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 60.0  # seconds between restarts of a component that exits
STABLE_AFTER = 60.0  # seconds up after which a component's back-off starts again from the first
UNIT_NAME = "skiff.service"


class StackError(Exception):
    pass


@dataclass
class Up:
    """What `Stack.up` did: the processes it started (the components, and `supervisor` when a
    new one adopted a partly running stack), and whether part of the stack was running."""

    started: list[str]
    resumed: bool
    docker_login: str = ""  # why the Docker client could not be logged in ("" when it was)


@dataclass
class Down:
    """What `Stack.down` did: component processes stopped, task containers stopped or kept."""

    stopped: list[str] = field(default_factory=list)
    tasks_stopped: list[str] = field(default_factory=list)  # Docker container names
    tasks_kept: list[str] = field(default_factory=list)


def agent_names(agents: int) -> list[str]:
    return ["agent" if n == 1 else f"agent-{n}" for n in range(1, agents + 1)]


class Stack:
    def __init__(self, state_dir: Path, endpoint: str, registry_port: int = REGISTRY_PORT,
                 client_config: Path | None = None, docker_config: Path | None = None):
        self.state_dir = Path(state_dir).absolute()
        self.client_config = client_config  # None: $SKIFF_CONFIG or ~/.skiff/config.json
        self.docker_config = docker_config  # None: Docker's own ($DOCKER_CONFIG or ~/.docker)
        self.endpoint = endpoint
        self.registry_port = registry_port
        self.registry_address = f"{REGISTRY_HOST}:{registry_port}"
        self._record = self.state_dir / "stack.json"
        self._supervisor: subprocess.Popen | None = None

    # -- the record (stack.json), shared by `up`, `down` and the supervisor ---------------------

    def _load(self) -> dict:
        try:
            return json.loads(self._record.read_text())
        except (OSError, ValueError):
            return {}

    @contextmanager
    def _updating(self) -> Iterator[dict]:
        """The record, read and written back under a lock (the supervisor writes it too)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "stack.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._load()
            yield data
            tmp = self._record.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self._record)  # readers never see half a file

    def _remember(self, name: str, pid: int | None) -> None:
        """Record (or, with None, forget) a component's pid; `supervisor` is kept apart."""
        with self._updating() as data:
            pids, started = data.setdefault("pids", {}), data.setdefault("started", {})
            if name == "supervisor":  # None: it stopped on request (see `Stack.wait`)
                data["supervisor"] = ({"pid": pid, "started": _start_time(pid)} if pid
                                      else {"stopped": True})
                return
            if pid is None:
                pids.pop(name, None)
                started.pop(name, None)
            else:
                # A pid alone can be reused after a crash or reboot: remember when it started.
                pids[name], started[name] = pid, _start_time(pid)

    def _ours(self, data: dict | None = None) -> dict[str, int]:
        """The recorded components that are still the processes this stack started."""
        data = self._load() if data is None else data
        started = data.get("started", {})
        return {name: pid for name, pid in data.get("pids", {}).items()
                if _alive(pid) and started.get(name) == _start_time(pid)}

    def _supervisor_pid(self, data: dict | None = None) -> int | None:
        record = (self._load() if data is None else data).get("supervisor") or {}
        pid = record.get("pid")
        return pid if pid and _alive(pid) and record.get("started") == _start_time(pid) else None

    def components(self, data: dict | None = None) -> list[str]:
        """The components of this stack, in start order."""
        settings = (self._load() if data is None else data).get("settings", {})
        return [*COMPONENTS, *agent_names(settings.get("agents", 1))]

    # -- up -------------------------------------------------------------------------------------

    def up(self, stop_timeout: float = 30.0, timeout: float = 60.0,
           agent_args: tuple[str, ...] = (), agents: int = 1, insecure: bool = False) -> Up:
        """Start what is not running and wait until the stack serves; `agents` container
        instances share the local Docker engine. A stack already running is an error; on a
        partly running one the settings it was started with stay. `insecure` serves the API in
        plaintext without users or certificates (`controlplane serve --insecure`) and the
        registry without authentication, for benchmarks that measure what TLS and
        authorization cost."""
        data = self._load()
        running = self._ours(data)
        supervisor = self._supervisor_pid(data)
        # Settings come from the record on a partly running stack; a record without them was
        # written by an older `skiff up` and is not adopted (its ports then count as taken).
        partial = bool((running or supervisor) and data.get("settings"))
        if not partial:
            data = {}
        else:
            self._adopt_settings(data["settings"])
        wanted = self.components(data) if partial else [*COMPONENTS, *agent_names(agents)]
        missing = [name for name in wanted if name not in running]
        if supervisor and not missing:
            raise StackError(f"a stack is already running from {self.state_dir} (skiff down first)")
        try:
            if supervisor:
                os.kill(supervisor, signal.SIGHUP)  # start what is missing now, not after back-off
            else:
                self._check_ports(running, data)
                (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
                ensure_dockerd()
                with self._updating() as record:
                    if not partial:
                        record.clear()
                        record["settings"] = {
                            "endpoint": self.endpoint, "registry_port": self.registry_port,
                            "etcd_client_port": free_port(), "etcd_peer_port": free_port(),
                            "machines_port": free_port(),
                            "agents": agents, "stop_timeout": stop_timeout,
                            "agent_args": list(agent_args), "insecure": insecure}
                    self._adopt_settings(record["settings"])
                self._start_supervisor()
            self._wait_ready(timeout)
            self._record_instances()
            self._save_client_context()
        except (TimeoutError, RuntimeError, OSError) as exc:
            self.down(keep_tasks=True)  # a failed start takes no task down with it
            raise StackError(f"{exc}; see the logs in {self.state_dir / 'logs'}") from exc
        return Up(missing + ([] if supervisor or not partial else ["supervisor"]), partial,
                  docker_login=self._docker_login())

    def _adopt_settings(self, settings: dict) -> None:
        self.endpoint = settings["endpoint"]
        self.registry_port = settings["registry_port"]
        self.registry_address = f"{REGISTRY_HOST}:{self.registry_port}"

    def _check_ports(self, running: dict[str, int], data: dict) -> None:
        settings = data.get("settings", {})
        endpoint = settings.get("endpoint", self.endpoint)
        registry = f"{REGISTRY_HOST}:{settings.get('registry_port', self.registry_port)}"
        for name, address, what in (("controlplane", endpoint, "the control plane"),
                                    ("registry", registry, "the registry")):
            host, _, port = address.rpartition(":")
            if name not in running and port_open(host, int(port)):
                raise StackError(f"{address} is already in use; {what} cannot listen there")

    def _start_supervisor(self) -> None:
        with open(self.state_dir / "logs" / "supervisor.log", "ab") as log:
            self._supervisor = subprocess.Popen(
                [sys.executable, "-m", "skiffharness.stack", "supervise", str(self.state_dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self._remember("supervisor", self._supervisor.pid)

    def _wait_ready(self, timeout: float) -> None:
        host, _, port = self.endpoint.rpartition(":")
        agents = len(agent_names(self._load().get("settings", {}).get("agents", 1)))

        supervisor_gone = threading.Event()

        def ready(condition: Callable[[], bool]) -> Callable[[], bool]:
            def check() -> bool:
                if self._supervisor_pid() is None:  # no use waiting any longer
                    supervisor_gone.set()
                    return True
                return condition()
            return check

        for condition, what in (
                (lambda: _registry_ready(self.registry_address),
                 f"the registry on {self.registry_address}"),
                (lambda: port_open(host, int(port)), f"the control plane on {self.endpoint}"),
                (lambda: len(self.connected_instances()) >= agents,
                 f"{agents} agent(s) to connect")):
            wait_until(ready(condition), timeout, interval=0.2, message=what)
            if supervisor_gone.is_set():
                raise RuntimeError(f"the supervisor exited while waiting for {what}")

    def connected_instances(self) -> list[str]:
        """Ids of the container instances whose agents are connected to this stack's control
        plane (raises when it does not answer)."""
        from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc

        context = self.admin_context()
        if context is None:
            raise RuntimeError("the control plane has not made its first admin yet")
        with channel_for(context) as channel:
            stub = controlplane_pb2_grpc.ControlPlaneStub(channel)
            arns = stub.ListContainerInstances(pb.ListContainerInstancesRequest(), timeout=5)
            if not arns.container_instance_arns:
                return []
            described = stub.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
                container_instances=arns.container_instance_arns), timeout=5)
            return [i.instance_id for i in described.container_instances if i.agent_connected]

    def admin_context(self) -> Context | None:
        """How this stack's own commands reach its control plane: as the first admin, whose
        token the control plane wrote to its state dir when it made the cluster."""
        if self._load().get("settings", {}).get("insecure"):
            return Context(self.endpoint)  # plaintext, no users
        context = bootstrap_context(self.state_dir / "controlplane" / "bootstrap.json")
        if context is not None:
            context.endpoint = self.endpoint
        return context

    def _save_client_context(self) -> None:
        """The `local` context of the client config ($SKIFF_CONFIG or ~/.skiff/config.json),
        so `skiff ...` works right after `skiff up`."""
        context = self.admin_context()
        if context is None:
            return
        config = ClientConfig.load(self.client_config)
        config.put("local", context, make_current=config.current in ("", "local"))
        config.save()

    @property
    def registry_auth_file(self) -> Path:
        return self.state_dir / "registry-auth.json"

    def _docker_login(self, timeout: float = 10.0) -> str:
        """Log the local Docker client in to the registry as the first admin, the way a user
        would (`docker login --password-stdin`, so a credential helper is honoured). Returns
        why it failed, or "". Retried for a while: the registry takes up the users the control
        plane wrote within a second."""
        if self._load().get("settings", {}).get("insecure"):
            return ""  # an open registry: nothing to log in to
        context = self.admin_context()
        if context is None or not context.token:
            return "the control plane has not made its first admin yet"
        config = ["--config", str(self.docker_config)] if self.docker_config else []
        command = ["docker", *config, "login", "--username", context.user or "admin",
                   "--password-stdin", self.registry_address]
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = subprocess.run(command, input=context.token, capture_output=True,
                                        text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"docker login: {exc}"
            if result.returncode == 0:
                return ""
            if time.monotonic() > deadline:
                return f"docker login: {result.stderr.strip() or result.stdout.strip()}"
            time.sleep(0.5)

    def _record_instances(self) -> None:
        """Remember which container instances are this stack's, so `down` can find their task
        containers even when the control plane no longer answers."""
        ids = self.connected_instances()
        with self._updating() as data:
            data["instances"] = sorted(set(data.get("instances", [])) | set(ids))

    # -- in the foreground ----------------------------------------------------------------------

    def wait(self) -> tuple[bool, Down | None]:
        """Block until interrupted (Ctrl-C, SIGTERM: then stop everything, as `down` does) or
        until the supervisor exits. Returns (clean, what `down` did): clean is False when the
        supervisor died on its own (the rest is stopped then); when `skiff down` stopped it,
        that command did the stopping, and this one returns (True, None)."""
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while self._supervisor_pid() is not None:
                if self._supervisor is not None:
                    try:
                        self._supervisor.wait(1)
                    except subprocess.TimeoutExpired:
                        pass
                else:  # a supervisor an earlier `up` started: not our child, so poll it
                    threading.Event().wait(1)
        except KeyboardInterrupt:
            return True, self._down_uninterrupted()
        record = self._load()
        if not record or (record.get("supervisor") or {}).get("stopped"):
            return True, None
        return False, self._down_uninterrupted()

    def _down_uninterrupted(self) -> Down:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self.down()

    # -- down -----------------------------------------------------------------------------------

    def down(self, timeout: float = 40.0, keep_tasks: bool = False) -> Down:
        """Stop the supervisor and the components, then (unless `keep_tasks`) the containers of
        the stack's tasks. Agents stop first, so no agent sees its containers stop and no
        service replaces them; the next `up` finds them exited and services start new tasks."""
        data = self._load()
        if data.get("settings"):
            self._adopt_settings(data["settings"])
        result = Down()
        instances = set(data.get("instances", []))
        import grpc

        try:  # agents that registered since `up` (the control plane may already be gone)
            instances |= set(self.connected_instances())
        except (grpc.RpcError, RuntimeError):
            pass
        running = self._ours(data)
        supervisor = self._supervisor_pid(data)
        if supervisor:
            # It stops the components in order; give it each one's timeout.
            _terminate(supervisor, timeout * (len(running) + 1))
            if self._supervisor is not None:
                self._supervisor.poll()  # reap it
        left = self._ours()
        agents = sorted(name for name in left if name.startswith("agent"))
        for name in agents + list(reversed(COMPONENTS)):
            if name in left:
                _terminate(left[name], timeout)
        names = self.components(data)
        result.stopped = [name for name in [*(n for n in names if n.startswith("agent")),
                                            *reversed(COMPONENTS)] if name in running]
        if instances:
            stop_timeout = data.get("settings", {}).get("stop_timeout", 30.0)
            result.tasks_stopped, result.tasks_kept = _task_containers(
                sorted(instances), None if keep_tasks else stop_timeout)
        self._record.unlink(missing_ok=True)
        return result


# -- the supervisor ----------------------------------------------------------------------------

class Supervisor:
    """Keeps the stack's components running until SIGTERM, then stops them in order.

    Components an earlier supervisor started and that still run are adopted (watched by pid and
    start time); the rest are started as children. SIGHUP starts whatever is missing at once,
    without waiting out a back-off.
    """

    def __init__(self, state_dir: Path):
        self.stack = Stack(state_dir, "")
        data = self.stack._load()
        settings = data["settings"]
        self.stack._adopt_settings(settings)
        self.settings = settings
        self.names = self.stack.components(data)
        self.etcd = EtcdProcess(self.stack.state_dir / "etcd", settings["etcd_client_port"],
                                settings["etcd_peer_port"])
        self.children: dict[str, subprocess.Popen] = {}
        self.pids: dict[str, int] = {name: pid for name, pid in self.stack._ours(data).items()
                                     if name in self.names}
        self.up_since = {name: time.monotonic() for name in self.pids}
        self.failures: dict[str, int] = {}
        self.next_start: dict[str, float] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()

    def command(self, name: str) -> list[str]:
        s, state = self.settings, self.stack.state_dir
        if name == "etcd":
            return self.etcd.command()
        skiff = [sys.executable, "-m", "skiff.cli", "--endpoint", s["endpoint"]]
        if name == "registry" and s.get("insecure"):  # open: no users to check
            return [*skiff, "registry", "serve", "--host", REGISTRY_HOST, "--port",
                    str(s["registry_port"]), "--data", str(state / "registry")]
        if name == "registry":
            ensure_registry_auth_file(self.stack.registry_auth_file)
            return [*skiff, "registry", "serve", "--host", REGISTRY_HOST, "--port",
                    str(s["registry_port"]), "--data", str(state / "registry"),
                    "--auth-file", str(self.stack.registry_auth_file)]
        if name == "controlplane" and s.get("insecure"):
            return [*skiff, "controlplane", "serve", "--listen", s["endpoint"], "--insecure",
                    "--etcd", f"127.0.0.1:{s['etcd_client_port']}"]
        if name == "controlplane":
            return [*skiff, "controlplane", "serve", "--listen", s["endpoint"],
                    "--machines-listen", f"127.0.0.1:{s['machines_port']}",
                    "--state-dir", str(state / "controlplane"),
                    "--etcd", f"127.0.0.1:{s['etcd_client_port']}",
                    "--registry", f"{REGISTRY_HOST}:{s['registry_port']}",
                    "--registry-auth-file", str(self.stack.registry_auth_file)]
        n = self.names.index(name) - len(COMPONENTS) + 1
        many = len(self.names) - len(COMPONENTS) > 1
        # Local agents join with the token the control plane keeps in its state dir.
        join = ([] if s.get("insecure")
                else ["--join-token-file", str(state / "controlplane" / "join-token")])
        return [*skiff, "agent", "serve", "--state-dir", str(state / name), *join,
                "--name", f"{socket.gethostname()}-{n}" if many else "",
                "--stop-timeout", str(s["stop_timeout"]), *s["agent_args"]]

    def say(self, name: str, message: str) -> None:
        """One line in the supervisor's log and in the component's own."""
        self.note(message)
        with open(self._log_path(name), "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} skiff supervisor: {message}\n")

    @staticmethod
    def note(message: str) -> None:
        """One line in the supervisor's log."""
        sys.stdout.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} skiff supervisor: {message}\n")
        sys.stdout.flush()

    def _log_path(self, name: str) -> Path:
        return self.stack.state_dir / "logs" / f"{name}.log"

    def _alive(self, name: str) -> bool:
        child = self.children.get(name)
        if child is not None:
            return child.poll() is None  # also reaps it
        pid = self.pids.get(name)
        return pid is not None and name in self.stack._ours()

    def _exited(self, name: str) -> str:
        child = self.children.get(name)
        if child is None or child.returncode is None:
            return "exited"
        if child.returncode < 0:
            return f"was killed by {signal.Signals(-child.returncode).name}"
        return f"exited with code {child.returncode}"

    def _start(self, name: str) -> None:
        try:
            command = self.command(name)
            with open(self._log_path(name), "ab") as log:
                child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        except (OSError, RuntimeError) as exc:
            self._failed(name, f"could not be started ({exc})")
            return
        self.children[name], self.pids[name] = child, child.pid
        self.up_since[name] = time.monotonic()
        self.stack._remember(name, child.pid)

    def _failed(self, name: str, what: str) -> None:
        failures = self.failures.get(name, 0)
        delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** failures)
        self.failures[name] = failures + 1
        self.next_start[name] = time.monotonic() + delay
        self.say(name, f"{name} {what}; restarting it in {delay:g}s")

    def step(self) -> None:
        """Look at every component once: start the missing, restart the exited when due."""
        now = time.monotonic()
        if self._wake.is_set():
            self._wake.clear()
            self.next_start.clear()
        for name in self.names:
            if self._alive(name):
                if now - self.up_since.get(name, now) >= STABLE_AFTER:
                    self.failures.pop(name, None)
                continue
            if name in self.pids:  # it was running: it exited
                what = self._exited(name)
                del self.pids[name]
                self.children.pop(name, None)
                self.stack._remember(name, None)
                self._failed(name, what)
            if now >= self.next_start.get(name, 0):
                if name in self.next_start:
                    self.say(name, f"restarting {name}")
                self._start(name)
                if name in self.pids:
                    self.note(f"started {name} (pid {self.pids[name]})")

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._wake.set())
        self.stack._remember("supervisor", os.getpid())
        self.note(f"pid {os.getpid()}, keeping {', '.join(self.names)} up")
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # e.g. the state dir unwritable: keep supervising
                self.note(f"error while looking after the components: {exc!r}")
            self._stop.wait(0.25)
        self.stop()

    def stop(self, timeout: float = 40.0) -> None:
        """Stop the components, agents first and etcd last; record a stop on request."""
        agents = [name for name in self.names if name.startswith("agent")]
        for name in agents + list(reversed(COMPONENTS)):
            if self._alive(name):
                _terminate(self.pids[name], timeout)
                if name in self.children:
                    self.children[name].poll()  # reap it
            self.stack._remember(name, None)
        self.stack._remember("supervisor", None)
        self.note("stopped")


# -- systemd -----------------------------------------------------------------------------------

def systemd_unit(state_dir: Path, endpoint: str, agents: int, stop_timeout: float,
                 python: str = sys.executable, code_root: Path | None = None) -> str:
    """A unit that runs `skiff up` in the foreground at boot. `skiff down --keep-tasks` on stop,
    so restarting the unit leaves the tasks running (the agents adopt them); a supervisor that
    dies makes `skiff up` exit non-zero, and systemd starts it again."""
    code_root = code_root or Path(__file__).resolve().parents[1]
    skiff = f"{shlex.quote(python)} -m skiff.cli --endpoint {shlex.quote(endpoint)}"
    state = shlex.quote(str(state_dir))
    return f"""\
[Unit]
Description=Skiff single-machine stack (etcd, registry, control plane, {agents} agent(s))
Wants=network-online.target docker.service
After=network-online.target docker.service

[Service]
Type=simple
Environment=PYTHONPATH={code_root}
ExecStart={skiff} up --state-dir {state} --agents {agents} --stop-timeout {stop_timeout:g}
ExecStop={skiff} down --state-dir {state} --keep-tasks
KillMode=mixed
TimeoutStopSec=300
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
"""


def install_unit(root: Path, text: str) -> Path:
    """Write the unit under `root` (/ on a real machine); returns its path."""
    path = Path(root) / "etc" / "systemd" / "system" / UNIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- helpers -----------------------------------------------------------------------------------

def _task_containers(instances: list[str], stop_timeout: float | None) -> tuple[list[str], list[str]]:
    """The running containers of these instances' tasks: stopped (all at once) when
    `stop_timeout` is given, else kept. Returns (stopped, kept) Docker names."""
    from agent.runtime.docker_sdk import DockerRuntime  # the one module that speaks to Docker

    runtime = DockerRuntime(timeout=max(60.0, (stop_timeout or 0) + 30))
    try:
        running = [c for instance in instances for c in runtime.list_containers(instance)
                   if c.running]
        if stop_timeout is None:
            return [], sorted(c.name for c in running)

        def stop(container) -> str:
            timeout = container.stop_timeout if container.stop_timeout is not None else stop_timeout
            runtime.stop(container.container_id, timeout)
            return container.name

        with ThreadPoolExecutor(max_workers=8) as pool:
            return sorted(pool.map(stop, running)), []
    finally:
        runtime.close()


def ensure_registry_auth_file(path: Path) -> None:
    """An auth file for the registry to start with: no users yet (the control plane writes
    them), a secret to sign tokens with. Readable by its owner only; kept when it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"users": {}, "token_secret": secrets.token_urlsafe(32)}) + "\n")
    os.replace(tmp, path)


def _registry_ready(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response:
            return response.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code == 401  # up, and asking for credentials


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


def _main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "supervise":
        sys.exit("usage: python -m skiffharness.stack supervise STATE_DIR")
    Supervisor(Path(argv[1])).run()


if __name__ == "__main__":
    from skiffharness.stack import _main as main  # the importable module, not this __main__ copy

    main(sys.argv[1:])
