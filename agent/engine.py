"""The task engine: one worker thread per task drives its containers toward the desired status.

The decision is pure (`agent.decision.next_action`); `TaskWorker` only observes the runtime,
applies the action through it (any `agent.runtime.ContainerRuntime`: Docker, or the fake) and
reports. A container's Docker name is fixed by its task id and container name before it is
created, so a worker that starts again (after an agent restart) finds and adopts what is
already there instead of starting a duplicate (design invariant 5).

How the engine carries out the container features the decision knows (see `agent.decision`):
Docker runs a container's `healthCheck`, and a change of a container's or the task's health
is reported at once; `stopTimeout` is each container's own SIGTERM-to-SIGKILL time, else the
agent's.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from agent.credentials import RegistryCredentials
from agent.decision import (Action, ContainerPhase, HealthStatus, Observed, dependency_failure,
                            next_action, should_restart, startable, stop_order, task_health)
from agent.plan import ContainerPlan, ContainerResult, Reporter, TaskPlan, TaskReport
from agent.runtime import (LABEL_TASK_ID, ContainerNotFound, ContainerRuntime,
                           ContainerRuntimeError, ContainerSpec, ContainerState, ImageNotFound,
                           docker_container_name, just_started)
from skiffcore.status import StopCode, TaskStatus, advance

__all__ = ["EngineConfig", "TaskWorker", "TaskEngine", "DockerTraffic", "WAKING_EVENTS"]

log = logging.getLogger("skiff.agent.engine")

# Docker's State.Health.Status -> ECS; "starting" (and no check at all) is UNKNOWN.
_DOCKER_HEALTH = {"healthy": HealthStatus.HEALTHY, "unhealthy": HealthStatus.UNHEALTHY}


@dataclass
class EngineConfig:
    stop_timeout: float = 30.0           # seconds between SIGTERM and SIGKILL (ECS default)
    poll_interval: float = 0.5           # how often a worker looks at its containers...
    idle_poll: float = 60.0              # ...while Docker's events wake it on every change
    docker_parallelism: int = 64         # container creates and starts in flight at once
    stop_defer: float = 3.0              # how long a stop may wait for starts in flight
    pull_behavior: str = "default"       # default: always pull | prefer-cached | once
    retry_delay: float = 2.0             # after a runtime error
    start_timeout: float = 180.0         # retriable errors before RUNNING give up after this
    credentials: RegistryCredentials = field(default_factory=RegistryCredentials)
    cleanup_after: float = 3600.0        # remove a stopped task's containers this long after
    sweep_interval: float = 30.0         # the periodic look for strays and containers to remove


def _moment(timestamp: str | None) -> datetime | None:
    """Docker's RFC 3339 time (nanoseconds, "Z"); None when unset or unreadable."""
    if not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp)
    except ValueError:
        return None


# Docker event actions that change what a worker would decide.
WAKING_EVENTS = ("die", "oom", "destroy", "health_status", "kill", "stop", "pause", "unpause")


class DockerTraffic:
    """What the engine's workers ask of Docker at once: a bound on creates and starts in
    flight, and a way for stops to let those go first."""

    def __init__(self, parallelism: int):
        self._slots = threading.BoundedSemaphore(parallelism)
        self._busy = threading.Condition()
        self._starting = 0

    @contextmanager
    def starting(self):
        with self._busy:
            self._starting += 1
        try:
            with self._slots:
                yield
        finally:
            with self._busy:
                self._starting -= 1
                self._busy.notify_all()

    def wait_for_starts(self, at_most: float) -> None:
        """Return once no create or start is in flight, or after `at_most` seconds."""
        with self._busy:
            self._busy.wait_for(lambda: self._starting == 0, at_most)


class _DockerAway(Exception):
    """Docker did not answer while observing: decide nothing until it does."""


class TaskWorker(threading.Thread):
    """Owns one task: the only writer of its status (the ECS agent's "one owner per task")."""

    def __init__(self, plan: TaskPlan, runtime: ContainerRuntime, report: Reporter,
                 config: EngineConfig, on_done: Callable[[str], None],
                 idle_wait: Callable[[], float] | None = None,
                 traffic: "DockerTraffic | None" = None,
                 present_images: set[str] | None = None):
        super().__init__(name=f"task-{plan.task_id[:8]}", daemon=True)
        # Shared by the engine's workers: a bound on Docker calls in flight, and the images
        # known to be present (for prefer-cached pulls).
        self.traffic = traffic or DockerTraffic(config.docker_parallelism)
        self.present_images: set[str] = present_images if present_images is not None else set()
        self.plan = plan
        self.runtime = runtime
        self.idle_wait = idle_wait or (lambda: config.poll_interval)
        self.report = report
        self.config = config
        self.on_done = on_done
        # A task the control plane already saw RUNNING is adopted, not started again.
        self.known = min(plan.last_status, TaskStatus.RUNNING)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ids: dict[str, str] = {}
        self._failure: str = ""  # why the task could not start (pull/create/dependency errors)
        self._reported_view: tuple = ()
        self._retrying_since: float | None = None
        self._step = ""  # ECS's name for the error of the step in progress
        self._health: dict[str, HealthStatus] = {}  # last seen while running (Docker's health
        # of a stopped container is always "unhealthy", which says nothing)
        self.restarts: Counter[str] = Counter()  # by container name
        self._restart_failed: set[str] = set()  # a restart Docker refused: not tried again

    def wake(self) -> None:
        """Look at the containers again now (Docker reported a change)."""
        self._wake.set()

    def update(self, plan: TaskPlan) -> None:
        """A newer assignment for this task (e.g. desired STOPPED). One that only records
        what this worker reported itself (`last_status`) changes no decision: no wake-up.
        The desired status only moves forward: a task once asked to stop is never started
        again by a later plan (one from a control plane that lags)."""
        desired = advance(self.plan.desired, plan.desired)
        if desired != plan.desired:
            log.warning("task %s: desired status %s after %s ignored (it only moves forward)",
                        plan.task_id, plan.desired.name, self.plan.desired.name)
            plan = replace(plan, desired=desired)
        changed = replace(plan, last_status=self.plan.last_status) != self.plan
        self.plan = plan
        if changed:
            self._wake.set()

    def shutdown(self) -> None:
        """Stop working (agent shutdown); containers are left as they are."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        # A task not yet RUNNING starts from "nothing there": create finds a container left by
        # an earlier agent by its name (Docker's 409) and adopts it, so no inspect is needed.
        fresh: dict[str, ContainerState | None] | None = (
            {c.name: None for c in self.plan.containers}
            if self.known < TaskStatus.RUNNING and self.plan.desired == TaskStatus.RUNNING
            else None)
        try:
            while not self._stopping.is_set():
                try:
                    states, fresh = fresh if fresh is not None else self._observe(), None
                except _DockerAway as exc:
                    log.warning("task %s: %s", self.plan.task_id, exc)
                    self._pause(self.config.retry_delay)
                    continue
                observed = self._observed(states)
                self._check_dependencies(observed)
                action = next_action(self._desired(), self.known, observed)
                if action == Action.DONE:
                    break
                try:
                    # A report changes nothing in Docker, and a create or a start says what
                    # it made: no need to look again before the next decision.
                    fresh = self._apply(action, states, observed)
                    self._retrying_since = None
                except ContainerRuntimeError as exc:
                    self._on_error(action, exc)
                    self._pause(self.config.retry_delay)
                    continue
                if action == Action.WAIT:
                    if self._view(observed) != self._reported_view:
                        # e.g. a non-essential container exited, a health status changed, a
                        # container was restarted
                        self._send(self.known, states, observed)
                    self._pause(self.idle_wait())
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

    def _check_dependencies(self, observed: list[Observed]) -> None:
        """Fail the task (TaskFailedToStart, with the reason) when a created container can
        never start because a dependency can no longer hold."""
        if self._failure or self._desired() == TaskStatus.STOPPED:
            return
        reason = dependency_failure(observed)
        if reason:
            log.error("task %s: %s", self.plan.task_id, reason)
            self._failure = reason

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

    def _observed(self, states: dict[str, ContainerState | None]) -> list[Observed]:
        observed = []
        for container in self.plan.containers:
            state = states[container.name]
            phase = _phase(state)
            exit_code = state.exit_code if state is not None and state.exited else None
            restart = (phase == ContainerPhase.EXITED
                       and container.name not in self._restart_failed
                       and should_restart(container.restart_policy, exit_code, _ran_for(state)))
            observed.append(Observed(
                container.name, container.essential, phase, exit_code=exit_code,
                health=self._health_of(container, state, phase),
                health_check=container.spec.healthcheck is not None,
                depends_on=container.depends_on, restart=restart))
        return observed

    def _health_of(self, container: ContainerPlan, state: ContainerState | None,
                   phase: ContainerPhase) -> HealthStatus:
        if container.spec.healthcheck is None or state is None:
            return HealthStatus.UNKNOWN
        if phase == ContainerPhase.RUNNING:
            health = _DOCKER_HEALTH.get(state.health or "", HealthStatus.UNKNOWN)
            self._health[container.name] = health
            return health
        if phase == ContainerPhase.EXITED:
            return self._health.get(container.name, HealthStatus.UNKNOWN)
        return HealthStatus.UNKNOWN

    def _view(self, observed: list[Observed]) -> tuple:
        """What a report shows that can change while the task's status does not."""
        return tuple((c.phase, c.health, self.restarts[c.name]) for c in observed)

    def _apply(self, action: Action, states: dict[str, ContainerState | None],
               observed: list[Observed]) -> dict[str, ContainerState | None] | None:
        """Do it; returns the containers' states afterwards when known without a look."""
        if action == Action.CREATE:
            states = dict(states)
            for planned in self.plan.containers:
                if states[planned.name] is None:
                    self._step = "CannotPullContainerError"
                    self._pull(planned.spec)
                    self._step = "CannotCreateContainerError"
                    created = states[planned.name] = self._create(planned.spec)
                    self._ids[planned.name] = created.container_id
            return states
        elif action == Action.START:
            self._step = "CannotStartContainerError"
            by_name = {c.name: c for c in observed}
            specs = {c.name: c.spec for c in self.plan.containers}
            after: dict[str, ContainerState | None] | None = dict(states)
            for container in observed:
                if startable(container, by_name):
                    with self.traffic.starting():
                        self.runtime.start(_existing(states, container.name).container_id)
                    state = just_started(_existing(states, container.name), specs[container.name])
                    if state is None or after is None:
                        after = None  # Docker chose something (host ports): look
                    else:
                        after[container.name] = state
            return after
        elif action == Action.RESTART:
            for container in observed:
                if container.phase == ContainerPhase.EXITED and container.restart:
                    self._restart(container, _existing(states, container.name))
        elif action == Action.REPORT_RUNNING:
            self.known = TaskStatus.RUNNING
            self._send(TaskStatus.RUNNING, states, observed)
            return states
        elif action == Action.STOP:
            self._stop_containers(set(stop_order(observed)), states)
        elif action == Action.REPORT_STOPPED:
            self.known = TaskStatus.STOPPED
            self._send(TaskStatus.STOPPED, states, observed, *self._stop_cause(states))
            return states
        return None

    def _restart(self, container: Observed, state: ContainerState) -> None:
        """Start an exited container again in place (its restartPolicy said so)."""
        try:
            self.runtime.start(state.container_id)
        except ContainerRuntimeError as exc:
            if exc.retriable:
                raise
            # Not restartable after all: it counts as exited (and ends the task if essential).
            log.error("task %s: cannot restart %s: %s", self.plan.task_id, container.name, exc)
            self._restart_failed.add(container.name)
            return
        self.restarts[container.name] += 1
        log.info("task %s: restarted container %s after exit code %s (restart %d)",
                 self.plan.task_id, container.name, container.exit_code,
                 self.restarts[container.name])

    def _stop_containers(self, names: set[str], states: dict[str, ContainerState | None]) -> None:
        """Stop these containers at once, each with its own stop timeout; briefly after the
        starts in flight, which Docker would otherwise slow down (a rollout stops old tasks
        while it starts new ones, and waits for the new ones only)."""
        self.traffic.wait_for_starts(self.config.stop_defer)
        targets = [(_existing(states, c.name).container_id, self._stop_timeout(c))
                   for c in self.plan.containers if c.name in names]
        errors: list[ContainerRuntimeError] = []

        def stop(container_id: str, timeout: float) -> None:
            try:
                self.runtime.stop(container_id, timeout)
            except ContainerRuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=stop, args=target, daemon=True)
                   for target in targets[1:]]
        for thread in threads:
            thread.start()
        if targets:
            stop(*targets[0])
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _stop_timeout(self, container: ContainerPlan) -> float:
        if container.spec.stop_timeout is not None:
            return container.spec.stop_timeout
        return self.config.stop_timeout

    def _create(self, spec: ContainerSpec) -> ContainerState:
        try:
            with self.traffic.starting():
                return self.runtime.create(spec)
        except ImageNotFound:
            if spec.image not in self.present_images:
                raise
            # The image was removed behind the agent's back: pull it again, once.
            self.present_images.discard(spec.image)
            self._step = "CannotPullContainerError"
            self._pull(spec)
            self._step = "CannotCreateContainerError"
            with self.traffic.starting():
                return self.runtime.create(spec)

    def _pull(self, spec: ContainerSpec) -> None:
        """Pull the spec's image with its task's repository credentials, else the agent's."""
        image = spec.image
        behavior = self.config.pull_behavior
        if behavior in ("prefer-cached", "once"):
            if image in self.present_images or self.runtime.image_present(image):
                self.present_images.add(image)
                return
        auth = (dict(spec.registry_auth) if spec.registry_auth is not None
                else self.config.credentials.for_image(image))
        self.runtime.pull(image, auth=auth)
        self.present_images.add(image)

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
              observed: list[Observed], stop_code: str = "", stopped_reason: str = "") -> None:
        self._reported_view = self._view(observed)
        results = []
        for container, seen in zip(self.plan.containers, observed):
            state = states[container.name]
            container_status = {ContainerPhase.RUNNING: TaskStatus.RUNNING,
                                ContainerPhase.EXITED: TaskStatus.STOPPED}.get(seen.phase,
                                                                               TaskStatus.PENDING)
            if status == TaskStatus.STOPPED:
                container_status = TaskStatus.STOPPED
            results.append(ContainerResult(
                container.name, container_status,
                state.exit_code if state is not None and state.exited else None,
                self._failure if status == TaskStatus.STOPPED and self._failure else "",
                tuple({"bind_ip": b.bind_ip, "container_port": b.container_port,
                       "host_port": b.host_port, "protocol": b.protocol}
                      for b in (state.network_bindings if state is not None else ())),
                state.container_id if state is not None else "",
                seen.health, self.restarts[container.name]))
        self.report(TaskReport(self.plan.task_id, status, tuple(results), stop_code,
                               stopped_reason, task_health(observed)))


def _existing(states: dict[str, ContainerState | None], name: str) -> ContainerState:
    """The state of a container the decision found to exist (so it has an id)."""
    state = states[name]
    if state is None:
        raise AssertionError(f"container {name} has no state")
    return state


def _phase(state: ContainerState | None) -> ContainerPhase:
    if state is None:
        return ContainerPhase.ABSENT
    if state.exited:
        return ContainerPhase.EXITED
    if state.status == "created":
        return ContainerPhase.CREATED
    return ContainerPhase.RUNNING


def _ran_for(state: ContainerState | None) -> float | None:
    """Seconds an exited container ran since it last (re)started, from Docker's timestamps
    (so an agent that restarts still knows)."""
    if state is None:
        return None
    started, finished = _moment(state.started_at), _moment(state.finished_at)
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


class TaskEngine:
    """Keeps one worker per assigned task and reconciles whole assignment sets."""

    def __init__(self, runtime: ContainerRuntime, instance_id: str, report: Reporter,
                 config: EngineConfig | None = None):
        self.runtime = runtime
        self.instance_id = instance_id
        self.report = report
        self.config = config or EngineConfig()
        self._lock = threading.Lock()
        # Set while Docker's event stream is read: workers then sleep until an event wakes
        # them instead of polling Docker (which, with many tasks, slows every start).
        self._events_live = threading.Event()
        self._closing = threading.Event()
        self._exit_times: dict[str, float] = {}  # container id -> when it exited
        self._traffic = DockerTraffic(self.config.docker_parallelism)
        self._present_images: set[str] = set()
        self._workers: dict[str, TaskWorker] = {}
        self._finished: set[str] = set()  # reported STOPPED; ignore until the set drops them
        self._wanted: set[str] | None = None  # the last set applied; None before the first
        self._swept_at = float("-inf")  # monotonic time of the last look at all containers

    def apply(self, plans: list[TaskPlan], sweep: bool = False) -> None:
        """Reconcile with the complete set of tasks this instance must run.

        Docker's containers are only listed for strays (and stopped ones due for removal)
        on the first set, when a task left the set before it was reported STOPPED, or with
        `sweep` (the periodic re-apply) once `sweep_interval` has passed: listing every
        container on each new set would cost Docker more than the starts do."""
        wanted = {p.task_id: p for p in plans}
        with self._lock:
            left = self._wanted is None or bool(self._wanted - set(wanted) - self._finished)
            self._wanted = set(wanted)
            self._finished &= set(wanted)
            for task_id, plan in wanted.items():
                worker = self._workers.get(task_id)
                if worker is not None:
                    worker.update(plan)
                elif task_id not in self._finished:
                    worker = TaskWorker(plan, self.runtime, self.report, self.config, self._done,
                                        self.idle_wait, self._traffic,
                                        self._present_images)
                    self._workers[task_id] = worker
                    worker.start()
        now = time.monotonic()
        # A cleanup delay shorter than the interval is looked at that often.
        interval = min(self.config.sweep_interval, self.config.cleanup_after)
        if left or (sweep and now - self._swept_at >= interval):
            self._swept_at = now
            self._stop_strays(set(wanted))

    def _done(self, task_id: str) -> None:
        with self._lock:
            worker = self._workers.pop(task_id, None)
            if worker is not None and worker.known == TaskStatus.STOPPED:
                self._finished.add(task_id)

    def _stop_strays(self, wanted: set[str]) -> None:
        """Stop this instance's running containers whose task is not in the set any more, and
        remove the exited ones of such tasks once they have been stopped `cleanup_after`."""
        try:
            containers = self.runtime.container_summaries(self.instance_id)
        except ContainerRuntimeError as exc:
            log.warning("cannot list containers: %s", exc)
            return
        now = time.time()
        for container_id, task_id, state in containers:
            if task_id in wanted:
                continue
            if state in ("running", "paused", "restarting"):
                log.info("stopping %s: task %s is not assigned here", container_id[:12], task_id)
                threading.Thread(target=self._stop_stray, args=(container_id,), daemon=True).start()
            elif state in ("exited", "dead", "created"):
                finished = self._finished_at(container_id)
                if finished is not None and now - finished >= self.config.cleanup_after:
                    log.info("removing %s: task %s ended %.0fs ago", container_id[:12], task_id,
                             now - finished)
                    try:
                        self.runtime.remove(container_id)
                    except ContainerRuntimeError as exc:
                        log.warning("cannot remove %s: %s", container_id[:12], exc)

    def _stop_stray(self, container_id: str) -> None:
        try:
            state = self.runtime.inspect(container_id)
            timeout = state.stop_timeout if state.stop_timeout is not None else self.config.stop_timeout
            self.runtime.stop(container_id, timeout)
        except ContainerRuntimeError as exc:
            log.warning("cannot stop %s: %s", container_id[:12], exc)

    def _finished_at(self, container_id: str) -> float | None:
        """When an exited container stopped (cached: it never changes once exited)."""
        finished = self._exit_times.get(container_id)
        if finished is None:
            try:
                state = self.runtime.inspect(container_id)
            except ContainerRuntimeError:
                return None
            moment = _moment(state.finished_at) if state.exited else None
            # created, never started: count from now
            finished = moment.timestamp() if moment is not None else time.time()
            self._exit_times[container_id] = finished
        return finished

    def idle_wait(self) -> float:
        return self.config.idle_poll if self._events_live.is_set() else self.config.poll_interval

    def watch_events(self) -> None:
        """Wake the worker of every task whose container Docker reports a change of (run in a
        thread; reconnects until shutdown)."""
        while not self._closing.is_set():
            try:
                stream = self.runtime.events(self.instance_id)
                self._events_live.set()
                self._wake_all()  # whatever happened while no stream was open
                for event in stream:
                    # Only what the agent did not cause itself needs a look (create and start
                    # are its own doing; it already looked).
                    if not str(event.get("Action", "")).startswith(WAKING_EVENTS):
                        continue
                    attributes = (event.get("Actor") or {}).get("Attributes") or {}
                    task_id = attributes.get(LABEL_TASK_ID, "")
                    with self._lock:
                        worker = self._workers.get(task_id)
                    if worker is not None:
                        worker.wake()
                    if self._closing.is_set():
                        stream.close()
            except ContainerRuntimeError as exc:
                log.warning("docker events: %s", exc)
            self._events_live.clear()
            self._closing.wait(self.config.retry_delay)

    def _wake_all(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake()

    def shutdown(self) -> None:
        self._closing.set()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.join(5)
