"""The task engine: one worker thread per task drives its containers toward the desired status.

The decision is a pure function, `next_action(desired, known, containers)`, tested with
tables; `TaskWorker` only observes Docker, applies the action through the runtime adapter,
and reports. A container's Docker name is fixed by its task id and container name before
it is created, so a worker that starts again (after an agent restart) finds and adopts
what is already there instead of starting a duplicate (design invariant 5).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from agent.runtime import (ContainerNotFound, ContainerRuntimeError, ContainerSpec,
                           ContainerState, DockerRuntime, PortSpec, docker_container_name)
from skiffcore.status import StopCode, TaskStatus

log = logging.getLogger("skiff.agent.engine")


class ContainerPhase(enum.Enum):
    ABSENT = "absent"      # no Docker container yet
    CREATED = "created"    # created, never started
    RUNNING = "running"
    EXITED = "exited"


class Action(enum.Enum):
    CREATE = "create"                  # pull images and create the missing containers
    START = "start"                    # start created containers
    REPORT_RUNNING = "report-running"
    WAIT = "wait"                      # nothing to do until something changes
    STOP = "stop"                      # stop every container still running
    REPORT_STOPPED = "report-stopped"
    DONE = "done"


@dataclass(frozen=True)
class Observed:
    name: str
    essential: bool
    phase: ContainerPhase


def next_action(desired: TaskStatus, known: TaskStatus, containers: list[Observed]) -> Action:
    """What the worker does next, from the desired status, the last reported one, and Docker."""
    if known == TaskStatus.STOPPED:
        return Action.DONE
    if known >= TaskStatus.RUNNING:
        # A container removed behind Skiff's back after the task ran is gone, not "to create":
        # recreating it would silently restart a task that already ran.
        containers = [Observed(c.name, c.essential, ContainerPhase.EXITED)
                      if c.phase == ContainerPhase.ABSENT else c for c in containers]
    live = any(c.phase == ContainerPhase.RUNNING for c in containers)
    essential_exited = any(c.essential and c.phase == ContainerPhase.EXITED for c in containers)
    if desired == TaskStatus.STOPPED or essential_exited:
        return Action.STOP if live else Action.REPORT_STOPPED
    if any(c.phase == ContainerPhase.ABSENT for c in containers):
        return Action.CREATE
    if any(c.phase == ContainerPhase.CREATED for c in containers):
        return Action.START
    if known < TaskStatus.RUNNING:
        return Action.REPORT_RUNNING
    return Action.WAIT


@dataclass(frozen=True)
class ContainerPlan:
    """One container of an assigned task, as the engine needs it."""

    name: str
    essential: bool
    spec: ContainerSpec


@dataclass(frozen=True)
class TaskPlan:
    task_id: str
    desired: TaskStatus
    containers: tuple[ContainerPlan, ...]
    last_status: TaskStatus = TaskStatus.PENDING  # what the control plane has recorded


@dataclass(frozen=True)
class ContainerResult:
    name: str
    status: TaskStatus
    exit_code: int | None
    reason: str
    network_bindings: tuple[dict, ...]
    runtime_id: str


@dataclass(frozen=True)
class TaskReport:
    task_id: str
    status: TaskStatus
    containers: tuple[ContainerResult, ...]
    stop_code: str = ""
    stopped_reason: str = ""


Reporter = Callable[[TaskReport], None]


@dataclass
class EngineConfig:
    stop_timeout: float = 30.0           # seconds between SIGTERM and SIGKILL (ECS default)
    poll_interval: float = 0.5           # how often a worker looks at its containers
    pull_behavior: str = "default"       # default: always pull | prefer-cached | once
    retry_delay: float = 2.0             # after a runtime error
    start_timeout: float = 180.0         # retriable errors before RUNNING give up after this


class _DockerAway(Exception):
    """Docker did not answer while observing: decide nothing until it does."""


class TaskWorker(threading.Thread):
    """Owns one task: the only writer of its status (the ECS agent's "one owner per task")."""

    def __init__(self, plan: TaskPlan, runtime: DockerRuntime, report: Reporter,
                 config: EngineConfig, on_done: Callable[[str], None]):
        super().__init__(name=f"task-{plan.task_id[:8]}", daemon=True)
        self.plan = plan
        self.runtime = runtime
        self.report = report
        self.config = config
        self.on_done = on_done
        # A task the control plane already saw RUNNING is adopted, not started again.
        self.known = min(plan.last_status, TaskStatus.RUNNING)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ids: dict[str, str] = {}
        self._failure: str = ""  # why the task could not start (pull/create errors)
        self._reported_phases: tuple[ContainerPhase, ...] = ()
        self._retrying_since: float | None = None
        self._step = ""  # ECS's name for the error of the step in progress

    def update(self, plan: TaskPlan) -> None:
        """A newer assignment for this task (e.g. desired STOPPED)."""
        self.plan = plan
        self._wake.set()

    def shutdown(self) -> None:
        """Stop working (agent shutdown); containers are left as they are."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    states = self._observe()
                except _DockerAway as exc:
                    log.warning("task %s: %s", self.plan.task_id, exc)
                    self._pause(self.config.retry_delay)
                    continue
                action = next_action(self._desired(), self.known, self._observed(states))
                if action == Action.DONE:
                    break
                try:
                    self._apply(action, states)
                    self._retrying_since = None
                except ContainerRuntimeError as exc:
                    self._on_error(action, exc)
                    self._pause(self.config.retry_delay)
                    continue
                if action == Action.WAIT:
                    if self._phases(states) != self._reported_phases:
                        self._send(self.known, states)  # e.g. a non-essential container exited
                    self._pause(self.config.poll_interval)
        except Exception:  # a worker must never die silently; the next assignment restarts it
            log.exception("task %s: worker crashed", self.plan.task_id)
        finally:
            self.on_done(self.plan.task_id)

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _on_error(self, action: Action, exc: ContainerRuntimeError) -> None:
        """Errors while starting end the task (at once, or after start_timeout if retriable);
        errors while stopping are retried: the task is not STOPPED until its containers are."""
        starting = action in (Action.CREATE, Action.START) and self.known < TaskStatus.RUNNING
        if not starting:
            log.warning("task %s: %s failed: %s (retrying)", self.plan.task_id, action.value, exc)
            return
        now = time.monotonic()
        if self._retrying_since is None:
            self._retrying_since = now
        if exc.retriable and now - self._retrying_since < self.config.start_timeout:
            log.warning("task %s: %s (retrying)", self.plan.task_id, exc)
            return
        log.error("task %s failed to start: %s", self.plan.task_id, exc)
        self._failure = f"{self._step}: {exc}"

    def _desired(self) -> TaskStatus:
        return TaskStatus.STOPPED if self._failure else self.plan.desired

    def _observe(self) -> dict[str, ContainerState | None]:
        states: dict[str, ContainerState | None] = {}
        for container in self.plan.containers:
            container_id = self._ids.get(container.name) or docker_container_name(
                self.plan.task_id, container.name)
            try:
                states[container.name] = self.runtime.inspect(container_id)
            except ContainerNotFound:
                states[container.name] = None
            except ContainerRuntimeError as exc:
                # Not knowing is not "absent": deciding now could report STOPPED for a
                # container that still runs and holds its ports.
                raise _DockerAway(f"cannot inspect {container.name}: {exc}") from exc
        return states

    def _phases(self, states: dict[str, ContainerState | None]) -> tuple[ContainerPhase, ...]:
        return tuple(_phase(states[c.name]) for c in self.plan.containers)

    def _observed(self, states: dict[str, ContainerState | None]) -> list[Observed]:
        return [Observed(c.name, c.essential, _phase(states[c.name])) for c in self.plan.containers]

    def _apply(self, action: Action, states: dict[str, ContainerState | None]) -> None:
        if action == Action.CREATE:
            self._send(TaskStatus.PENDING, states)
            for container in self.plan.containers:
                if states[container.name] is None:
                    self._step = "CannotPullContainerError"
                    self._pull(container.spec.image)
                    self._step = "CannotCreateContainerError"
                    self._ids[container.name] = self.runtime.create(container.spec)
        elif action == Action.START:
            self._step = "CannotStartContainerError"
            for container in self.plan.containers:
                state = states[container.name]
                if state is not None and _phase(state) == ContainerPhase.CREATED:
                    self.runtime.start(state.container_id)
        elif action == Action.REPORT_RUNNING:
            self.known = TaskStatus.RUNNING
            self._send(TaskStatus.RUNNING, states)
        elif action == Action.STOP:
            for container in self.plan.containers:
                state = states[container.name]
                if _phase(state) == ContainerPhase.RUNNING:  # also paused or restarting
                    self.runtime.stop(state.container_id, self.config.stop_timeout)
        elif action == Action.REPORT_STOPPED:
            self.known = TaskStatus.STOPPED
            self._send(TaskStatus.STOPPED, states, *self._stop_cause(states))

    def _pull(self, image: str) -> None:
        behavior = self.config.pull_behavior
        if behavior in ("prefer-cached", "once") and self.runtime.image_present(image):
            return
        self.runtime.pull(image)

    def _stop_cause(self, states: dict[str, ContainerState | None]) -> tuple[str, str]:
        if self._failure:
            return StopCode.TASK_FAILED_TO_START, self._failure
        for container in self.plan.containers:
            state = states[container.name]
            if container.essential and self.plan.desired != TaskStatus.STOPPED:
                if state is not None and state.exited:
                    return (StopCode.ESSENTIAL_CONTAINER_EXITED,
                            f"Essential container in task exited: {container.name}")
                if state is None and self.known >= TaskStatus.RUNNING:
                    return (StopCode.ESSENTIAL_CONTAINER_EXITED,
                            f"Essential container {container.name} was removed outside Skiff")
        return "", ""  # stopped because the control plane asked; it set the stop code

    def _send(self, status: TaskStatus, states: dict[str, ContainerState | None],
              stop_code: str = "", stopped_reason: str = "") -> None:
        self._reported_phases = self._phases(states)
        results = []
        for container in self.plan.containers:
            state = states[container.name]
            phase = _phase(state)
            container_status = {ContainerPhase.RUNNING: TaskStatus.RUNNING,
                                ContainerPhase.EXITED: TaskStatus.STOPPED}.get(phase, TaskStatus.PENDING)
            if status == TaskStatus.STOPPED:
                container_status = TaskStatus.STOPPED
            results.append(ContainerResult(
                container.name, container_status,
                state.exit_code if state is not None and state.exited else None,
                self._failure if status == TaskStatus.STOPPED and self._failure else "",
                tuple({"bind_ip": b.bind_ip, "container_port": b.container_port,
                       "host_port": b.host_port, "protocol": b.protocol}
                      for b in (state.network_bindings if state is not None else ())),
                state.container_id if state is not None else ""))
        self.report(TaskReport(self.plan.task_id, status, tuple(results), stop_code, stopped_reason))


def _phase(state: ContainerState | None) -> ContainerPhase:
    if state is None:
        return ContainerPhase.ABSENT
    if state.exited:
        return ContainerPhase.EXITED
    if state.status == "created":
        return ContainerPhase.CREATED
    return ContainerPhase.RUNNING


class TaskEngine:
    """Keeps one worker per assigned task and reconciles whole assignment sets."""

    def __init__(self, runtime: DockerRuntime, instance_id: str, report: Reporter,
                 config: EngineConfig | None = None):
        self.runtime = runtime
        self.instance_id = instance_id
        self.report = report
        self.config = config or EngineConfig()
        self._lock = threading.Lock()
        self._workers: dict[str, TaskWorker] = {}
        self._finished: set[str] = set()  # reported STOPPED; ignore until the set drops them

    def apply(self, plans: list[TaskPlan]) -> None:
        """Reconcile with the complete set of tasks this instance must run."""
        wanted = {p.task_id: p for p in plans}
        with self._lock:
            self._finished &= set(wanted)
            for task_id, plan in wanted.items():
                worker = self._workers.get(task_id)
                if worker is not None:
                    worker.update(plan)
                elif task_id not in self._finished:
                    worker = TaskWorker(plan, self.runtime, self.report, self.config, self._done)
                    self._workers[task_id] = worker
                    worker.start()
        self._stop_strays(set(wanted))

    def _done(self, task_id: str) -> None:
        with self._lock:
            worker = self._workers.pop(task_id, None)
            if worker is not None and worker.known == TaskStatus.STOPPED:
                self._finished.add(task_id)

    def _stop_strays(self, wanted: set[str]) -> None:
        """Stop this instance's running containers whose task is not in the set any more."""
        try:
            containers = self.runtime.list_containers(self.instance_id)
        except ContainerRuntimeError as exc:
            log.warning("cannot list containers: %s", exc)
            return
        for state in containers:
            if state.task_id not in wanted and state.running:
                log.info("stopping %s: task %s is not assigned here", state.name, state.task_id)
                threading.Thread(target=self.runtime.stop,
                                 args=(state.container_id, self.config.stop_timeout),
                                 daemon=True).start()

    def shutdown(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.join(5)


def container_spec(task_id: str, cluster: str, instance_id: str, network_mode: str, name: str,
                   image: str, cpu: int, memory: int, memory_reservation: int,
                   command: list[str], entry_point: list[str], environment: list[tuple[str, str]],
                   port_mappings: list[tuple[int, int, str]], working_directory: str,
                   docker_labels: list[tuple[str, str]], init: bool) -> ContainerSpec:
    """Build the runtime's spec from an assignment's fields (0 / empty mean unset)."""
    return ContainerSpec(
        task_id=task_id, container_name=name, cluster=cluster, instance_id=instance_id,
        image=image, cpu=cpu, memory=memory or None, memory_reservation=memory_reservation or None,
        command=tuple(command), entry_point=tuple(entry_point), environment=tuple(environment),
        port_mappings=tuple(PortSpec(c, h, p or "tcp") for c, h, p in port_mappings),
        working_directory=working_directory or None, docker_labels=tuple(docker_labels),
        network_mode=network_mode or "bridge", init=init)


__all__ = ["Action", "ContainerPhase", "Observed", "next_action", "TaskPlan", "ContainerPlan",
           "TaskReport", "ContainerResult", "EngineConfig", "TaskWorker", "TaskEngine",
           "container_spec"]
