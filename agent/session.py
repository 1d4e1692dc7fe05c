"""The agent's session with the control plane: register, heartbeat, assignments, reports.

This is the agent's gRPC edge: protobuf stops here; the engine sees `TaskPlan`s. When the
control plane goes away the session reconnects with exponential backoff, and the first
assignment set after a reconnect is authoritative (the engine reconciles whole sets), unless it
is older than a set already acted on (`agent.decision.older_set`): then it is ignored.
Reports are level-triggered: only the newest report per task is kept and re-sent until
the control plane took it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import random
import socket
import threading
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from agent.decision import Dependency, RestartPolicy, older_set
from agent.engine import EngineConfig, TaskEngine
from agent.identity import JoinError, NodeIdentity
from agent.logs import LogShipper
from agent.plan import ContainerPlan, TaskPlan, TaskReport
from agent.runtime import ContainerRuntime, ContainerSpec, HealthCheck, PortSpec
from skiffapi.v1 import agent_pb2, agent_pb2_grpc, types_pb2
from skiffcore.status import TaskStatus

__all__ = ["AGENT_VERSION", "Agent", "AgentConfig", "task_plan", "container_spec",
           "host_resources", "host_attributes"]

log = logging.getLogger("skiff.agent")

AGENT_VERSION = "0.1.0"
COMMAND_STREAM_RETRY = 1.0  # seconds before a command stream that ended is opened again


@dataclass
class AgentConfig:
    endpoint: str = "127.0.0.1:7070"
    cluster: str = "default"
    name: str = ""                       # defaults to the host name
    state_dir: Path = Path("/var/lib/skiff/agent")
    reserved_memory: int = 256           # MiB kept for the host, not offered to tasks
    heartbeat_interval: float = 3.0
    docker_url: str | None = None       # the engine the composition root connects to
    zone: str = ""                       # reported as ecs.availability-zone
    engine: EngineConfig = None  # type: ignore[assignment]
    # A secret: used once to join (then the certificate in state_dir speaks for the node).
    join_token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        self.name = self.name or socket.gethostname()
        self.engine = self.engine or EngineConfig()


def host_resources(reserved_memory: int) -> tuple[int, int]:
    """(CPU units, MiB) offered to tasks: cores × 1024, total memory minus the reserve."""
    with open("/proc/meminfo") as meminfo:
        total_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return (os.cpu_count() or 1) * 1024, total_kib // 1024 - reserved_memory


def host_attributes(zone: str = "") -> dict[str, str]:
    """The built-in attributes ECS reports, from this host's facts. The instance type is
    made up from the size ("local.2c24g": 2 cores, 24 GiB), so `=~ local.2c.*` works."""
    arch = {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    with open("/proc/meminfo") as meminfo:
        total_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    attributes = {"ecs.os-type": "linux", "ecs.cpu-architecture": arch, "ecs.os-family": "LINUX",
                  "ecs.instance-type": f"local.{os.cpu_count() or 1}c{round(total_kib / 2**20)}g",
                  "skiff.hostname": socket.gethostname()}
    if zone:
        attributes["ecs.availability-zone"] = zone
    return attributes


class Agent:
    """One container instance's agent, driving containers through `runtime` (the caller
    builds it, e.g. `DockerRuntime(config.docker_url)`)."""

    def __init__(self, config: AgentConfig, runtime: ContainerRuntime):
        self.config = config
        self.runtime = runtime
        self.logs = LogShipper(self.runtime)
        # A node that joined a TLS control plane is its certificate's instance; without one
        # (a plaintext control plane on loopback) the id comes from instance.json.
        self.identity = NodeIdentity.load(config.state_dir, config.cluster)
        self.instance_id = self.identity.instance_id if self.identity else self._load_instance_id()
        self.engine: TaskEngine | None = None
        self._channel: grpc.Channel | None = None
        self._stub: agent_pb2_grpc.AgentServiceStub | None = None
        self._stop = threading.Event()
        self._pending: dict[str, TaskReport] = {}
        self._pending_lock = threading.Lock()
        self._pending_wake = threading.Event()
        self._stream: grpc.Future | None = None
        self._last_plans: list[TaskPlan] | None = None
        self._plans: dict[str, tuple[bytes, TaskPlan]] = {}  # task id -> (assignment, plan)
        # (epoch, revision) of the newest set acted on, kept across reconnects. Only in memory:
        # a restarted agent adopts from Docker, and a mark kept on disk would outlive an etcd
        # rebuilt from scratch (its revisions start again at 1) and make every set look old.
        self._acted: tuple[int, int] | None = None

    # -- identity ------------------------------------------------------------------------

    @property
    def _identity_file(self) -> Path:
        return self.config.state_dir / "instance.json"

    def _load_instance_id(self) -> str:
        try:
            data = json.loads(self._identity_file.read_text())
            if data.get("cluster") == self.config.cluster:
                return data["instance_id"]
        except (OSError, ValueError, KeyError):
            pass
        return ""

    def _save_instance_id(self) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._identity_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"instance_id": self.instance_id, "cluster": self.config.cluster}))
        os.replace(tmp, self._identity_file)

    # -- session -------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until `stop()`: (re)connect, register, follow assignments."""
        backoff = 0.25
        threading.Thread(target=self._report_loop, name="reports", daemon=True).start()
        while not self._stop.is_set():
            try:
                self._connect()
                self._register()
                backoff = 0.25
                heartbeats = threading.Thread(target=self._heartbeat_loop, name="heartbeat",
                                              daemon=True)
                heartbeats.start()
                threading.Thread(target=self._command_loop, name="commands",
                                 daemon=True).start()
                self._follow_assignments()
            except (grpc.RpcError, ValueError) as exc:  # ValueError: a channel stop() closed
                if self._stop.is_set():
                    break
                log.warning("control plane %s: %s; reconnecting in %.1fs", self.config.endpoint,
                            _rpc_message(exc) if isinstance(exc, grpc.RpcError) else exc,
                            backoff)
            self._close_channel()
            self._stop.wait(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 10.0)
        if self.engine:
            self.engine.shutdown()

    def stop(self) -> None:
        self._stop.set()
        self._pending_wake.set()
        self._close_channel()

    def _connect(self) -> None:
        # Keepalive pings notice a control plane that vanished without closing the connection.
        options = [("grpc.keepalive_time_ms", 10_000), ("grpc.keepalive_timeout_ms", 5_000),
                   ("grpc.keepalive_permit_without_calls", 1)]
        identity = self._identity()
        if identity is None:
            self._channel = grpc.insecure_channel(self.config.endpoint, options=options)
        else:
            self._channel = grpc.secure_channel(identity.machines_endpoint,
                                                identity.credentials(), options=options)
        self._stub = agent_pb2_grpc.AgentServiceStub(self._channel)

    def _identity(self) -> NodeIdentity | None:
        """This node's certificate, joining first when there is none (or only an expired one)
        and a join token was given. None: talk plaintext (a loopback control plane)."""
        if self.identity is not None and not self.identity.expired():
            return self.identity
        if not self.config.join_token:
            if self.identity is not None:
                raise grpc.RpcError(f"the certificate of instance {self.instance_id} expired "
                                    f"at {self.identity.not_after():%Y-%m-%d %H:%M} UTC; join "
                                    f"again with --join-token")
            return None
        try:
            self.identity = NodeIdentity.join(self.config.state_dir, self.config.endpoint,
                                              self.config.join_token, self.config.cluster,
                                              self.config.name)
        except JoinError as exc:
            raise grpc.RpcError(f"cannot join: {exc}") from None
        self.instance_id = self.identity.instance_id
        return self.identity

    def _renew_if_due(self) -> None:
        """Renew the certificate once two thirds of its life have passed; the connection is
        then made again with the new one."""
        identity = self.identity
        if identity is None or dt.datetime.now(dt.timezone.utc) < identity.renew_at():
            return
        identity.renew(self._connected_stub())
        self._cancel_stream()

    def _connected_stub(self) -> agent_pb2_grpc.AgentServiceStub:
        """The stub `_connect` made; nothing calls the control plane before that."""
        assert self._stub is not None, "not connected yet"
        return self._stub

    def _close_channel(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def _register(self) -> None:
        cpu, memory = host_resources(self.config.reserved_memory)
        response = self._connected_stub().RegisterContainerInstance(agent_pb2.RegisterContainerInstanceRequest(
            cluster=self.config.cluster, instance_id=self.instance_id, name=self.config.name,
            total_resources=[types_pb2.Resource(name="CPU", type="INTEGER", integer_value=cpu),
                             types_pb2.Resource(name="MEMORY", type="INTEGER", integer_value=memory)],
            attributes=[types_pb2.Attribute(name=k, value=v)
                        for k, v in host_attributes(self.config.zone).items()],
            agent_version=AGENT_VERSION), timeout=10, wait_for_ready=True)
        if response.container_instance.instance_id != self.instance_id:
            self.instance_id = response.container_instance.instance_id
            self._save_instance_id()
        if self.engine is None:
            engine_config = dataclasses.replace(
                self.config.engine,
                credentials=self.config.engine.credentials.with_issuer(self._issued_credentials))
            self.engine = TaskEngine(self.runtime, self.instance_id, self._queue_report,
                                     engine_config)
            threading.Thread(target=self.engine.watch_events, name="docker-events",
                             daemon=True).start()
        log.info("registered as container instance %s in cluster %s (%d CPU units, %d MiB)",
                 self.instance_id, self.config.cluster, cpu, memory)
        self._pending_wake.set()

    def _issued_credentials(self, image: str) -> dict[str, str] | None:
        """A pull token from the control plane for an image on the bundled registry (None:
        another registry, or no answer; the pull then goes without, and fails if it must)."""
        stub = self._stub
        if stub is None:
            return None
        try:
            response = stub.GetRegistryCredentials(agent_pb2.GetRegistryCredentialsRequest(
                cluster=self.config.cluster, instance_id=self.instance_id, image=image),
                timeout=10)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:  # an older control plane: none
                log.warning("no registry credentials for %s: %s", image, _rpc_message(exc))
            return None
        return {"registrytoken": response.token} if response.token else None

    def _command_loop(self) -> None:
        """The command stream (log requests) for as long as this connection lasts: one that
        ends while the connection is up (the control plane ended it) is opened again."""
        channel, stub = self._channel, self._connected_stub()
        while not self._stop.is_set() and channel is self._channel:
            self.logs.follow_commands(stub, self.config.cluster, self.instance_id)
            self._stop.wait(COMMAND_STREAM_RETRY)

    def _heartbeat_loop(self) -> None:
        """Heartbeats, and a periodic re-apply of the last task set (level-triggered: a worker
        that crashed or a stray container that could not be stopped gets another chance)."""
        channel, failures = self._channel, 0
        while not self._stop.wait(self.config.heartbeat_interval) and channel is self._channel:
            if self.engine is not None and self._last_plans is not None:
                self.engine.apply(self._last_plans, sweep=True)
            try:
                self._connected_stub().Heartbeat(agent_pb2.HeartbeatRequest(
                    cluster=self.config.cluster, instance_id=self.instance_id), timeout=5)
                failures = 0
                self._renew_if_due()
            except grpc.RpcError as exc:
                failures += 1
                log.warning("heartbeat failed: %s", _rpc_message(exc))
                if exc.code() == grpc.StatusCode.NOT_FOUND or failures >= 3:
                    self._cancel_stream()  # reconnect and register again, maybe elsewhere
                    return
            except (AttributeError, ValueError):  # channel closed under us: a new loop takes over
                return

    def _cancel_stream(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def _follow_assignments(self) -> None:
        self._stream = self._connected_stub().StreamAssignments(agent_pb2.StreamAssignmentsRequest(
            cluster=self.config.cluster, instance_id=self.instance_id))
        for assignments in self._stream:
            position = (assignments.epoch, assignments.revision)
            if self._acted is not None and older_set(position, self._acted):
                log.warning("ignoring a task set of epoch %d revision %d: older than the one "
                            "acted on (epoch %d revision %d); this control-plane process lags",
                            *position, *self._acted)
                continue
            self._acted = position
            self._last_plans = [self._plan(a) for a in assignments.tasks]
            for gone in set(self._plans) - {a.task_id for a in assignments.tasks}:
                del self._plans[gone]
            assert self.engine is not None  # made by _register, before the stream opens
            self.engine.apply(self._last_plans)
        raise grpc.RpcError("assignment stream ended")

    def _plan(self, assignment: agent_pb2.TaskAssignment) -> TaskPlan:
        """The engine's plan for an assignment, converted once per distinct message (the
        whole set is resent on every change of any of its tasks)."""
        encoded = assignment.SerializeToString(deterministic=True)
        cached = self._plans.get(assignment.task_id)
        if cached is None or cached[0] != encoded:
            cached = self._plans[assignment.task_id] = (
                encoded, task_plan(assignment, self.config.cluster, self.instance_id))
        return cached[1]

    # -- reports -------------------------------------------------------------------------

    def _queue_report(self, report: TaskReport) -> None:
        with self._pending_lock:
            self._pending[report.task_id] = report
        self._pending_wake.set()

    def _report_loop(self) -> None:
        """Send the newest report of every task that changed, all in one call."""
        while not self._stop.is_set():
            self._pending_wake.wait(1.0)
            self._pending_wake.clear()
            with self._pending_lock:
                reports = list(self._pending.values())
            if reports and self._send_reports(reports):
                with self._pending_lock:
                    for report in reports:
                        if self._pending.get(report.task_id) is report:
                            del self._pending[report.task_id]

    def _send_reports(self, reports: list[TaskReport]) -> bool:
        stub = self._stub
        if stub is None:
            return False
        request = agent_pb2.ReportTaskStatesRequest(cluster=self.config.cluster,
                                                    instance_id=self.instance_id)
        for report in reports:
            message = request.reports.add(task_id=report.task_id, status=int(report.status),
                                          stop_code=report.stop_code,
                                          stopped_reason=report.stopped_reason,
                                          health_status=int(report.health_status))
            for c in report.containers:
                container = message.containers.add(name=c.name, status=int(c.status),
                                                   reason=c.reason, runtime_id=c.runtime_id,
                                                   health_status=int(c.health_status),
                                                   restart_count=c.restart_count)
                if c.exit_code is not None:
                    container.exit_code = c.exit_code
                container.network_bindings.extend(types_pb2.NetworkBinding(**b)
                                                  for b in c.network_bindings)
        try:
            response = stub.ReportTaskStates(request, timeout=10)
        except grpc.RpcError as exc:
            log.warning("reports not taken (will retry): %s", _rpc_message(exc))
            return False
        except ValueError:  # channel closed during reconnect
            return False
        for failure in response.failures:  # the control plane will never take these: drop them
            log.warning("report for task %s refused: %s", failure.arn, failure.detail)
        return True


def task_plan(assignment: agent_pb2.TaskAssignment, cluster: str, instance_id: str) -> TaskPlan:
    """An assignment from the control plane as the engine's plan (protobuf stops here)."""
    containers = tuple(
        ContainerPlan(c.name, c.essential,
                      container_spec(assignment, c, cluster=cluster, instance_id=instance_id),
                      depends_on=tuple(Dependency(d.container_name, d.condition)
                                       for d in c.depends_on),
                      restart_policy=_restart_policy(c))
        for c in assignment.containers)
    return TaskPlan(assignment.task_id, TaskStatus(assignment.desired_status), containers,
                    TaskStatus(assignment.last_status or TaskStatus.PENDING))


def container_spec(assignment: agent_pb2.TaskAssignment,
                   container: agent_pb2.ContainerAssignment, *, cluster: str,
                   instance_id: str) -> ContainerSpec:
    """The runtime's spec for one container of an assignment. Protobuf has no "unset": a zero
    or empty field means the spec's default (no memory limit, the image's working directory,
    bridge networking, Docker's stop timeout, tcp)."""
    c = container
    return ContainerSpec(
        task_id=assignment.task_id, container_name=c.name, cluster=cluster,
        instance_id=instance_id, image=c.image, cpu=c.cpu, memory=c.memory or None,
        memory_reservation=c.memory_reservation or None, command=tuple(c.command),
        entry_point=tuple(c.entry_point),
        environment=tuple((e.name, e.value) for e in c.environment),
        port_mappings=tuple(PortSpec(p.container_port, p.host_port, p.protocol or "tcp")
                            for p in c.port_mappings),
        working_directory=c.working_directory or None,
        docker_labels=tuple((label.name, label.value) for label in c.docker_labels),
        network_mode=assignment.network_mode or "bridge", init=c.init_process_enabled,
        healthcheck=_health_check(c), stop_timeout=c.stop_timeout or None,
        secrets=tuple((s.name, s.value) for s in c.secrets),
        registry_auth=((("username", c.repository_credentials.username),
                        ("password", c.repository_credentials.password))
                       if c.HasField("repository_credentials") else None))


def _health_check(container: agent_pb2.ContainerAssignment) -> HealthCheck | None:
    """The assignment's health check; zeros take ECS's defaults."""
    if not container.HasField("health_check") or not container.health_check.command:
        return None
    check = container.health_check
    return HealthCheck(test=tuple(check.command), interval=check.interval or 30,
                       timeout=check.timeout or 5, retries=check.retries or 3,
                       start_period=check.start_period)


def _restart_policy(container: agent_pb2.ContainerAssignment) -> RestartPolicy | None:
    """The assignment's restart policy; a zero period takes ECS's default (300 s)."""
    if not container.HasField("restart_policy"):
        return None
    policy = container.restart_policy
    return RestartPolicy(enabled=policy.enabled,
                         ignored_exit_codes=tuple(policy.ignored_exit_codes),
                         restart_attempt_period=policy.restart_attempt_period or 300)


def _rpc_message(exc: grpc.RpcError) -> str:
    try:
        return f"{exc.code().name}: {exc.details()}"
    except AttributeError:
        return str(exc)
