"""An in-memory `ContainerRuntime`, with call counts: for tests of the task engine and for
simulated agents that must not start real containers.

It keeps the protocol's contract (`agent.runtime.api`) as `DockerRuntime` does: deterministic
names, create returns the existing id for a known name (adoption), "not found" on stop/remove
is done, starting an exited container runs it again (as `docker start`), and errors are the
runtime's own classes. Tests script failures with `fail_next`, end containers with `exit`
(optionally having run for a given time), set Docker's health status with `set_health` and
write a container's output with `write`; `stops` records every stop with its timeout. `events`
streams what the fake does in Docker's shape (create, start, die, stop, health_status,
destroy).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from agent.runtime import (LABEL_CONTAINER_NAME, LABEL_INSTANCE, LABEL_TASK_ID,
                           ContainerNotFound, ContainerRuntimeError, ContainerSpec, ContainerState,
                           ImageNotFound, NetworkBinding, RuntimeUnavailable,
                           docker_container_name, docker_timestamp)

__all__ = ["FakeRuntime", "FakeStream"]

_END = object()


class FakeStream:
    """A `Stream` fed by the fake as things happen; it ends after `end()` or `close()`."""

    def __init__(self, items: tuple = ()):
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False
        for item in items:
            self._items.put(item)

    def put(self, item: Any) -> None:
        self._items.put(item)

    def end(self) -> None:
        self._items.put(_END)

    def __iter__(self) -> Iterator[Any]:
        while (item := self._items.get()) is not _END:
            yield item

    def close(self) -> None:
        self.closed = True
        self._items.put(_END)


class FakeRuntime:
    def __init__(self, images: tuple[str, ...] = ()):
        self.images: set[str] = set(images)      # present locally
        self.registry: set[str] | None = None    # pullable images; None: every image
        self.containers: dict[str, ContainerState] = {}  # by id
        self.specs: dict[str, ContainerSpec] = {}
        self.pull_auth: dict[str, dict | None] = {}  # image -> the auth of its last pull
        self.calls: Counter[str] = Counter()
        self.unavailable = False                  # every call raises RuntimeUnavailable
        self.stops: list[tuple[str, float]] = []  # (container name, timeout) of running ones
        self.output: dict[str, list[tuple[float, bytes]]] = {}  # by id: (time, chunk)
        self._followers: dict[str, list[FakeStream]] = {}  # by id: followed logs
        self._watchers: list[tuple[str, FakeStream]] = []  # (instance id, events stream)
        self._failures: dict[str, list[ContainerRuntimeError]] = {}
        self._ids = itertools.count(1)
        self._ports = itertools.count(32768)
        self._lock = threading.RLock()

    # -- scripting --------------------------------------------------------------------------

    def fail_next(self, operation: str, error: ContainerRuntimeError, times: int = 1) -> None:
        """Make the next `times` calls of `operation` raise `error`."""
        self._failures.setdefault(operation, []).extend([error] * times)

    def exit(self, task_id: str, container_name: str, exit_code: int,
             ran_for: float | None = None) -> None:
        """The container's process ends with `exit_code`; `ran_for` seconds after it (re)started
        when given (Docker's StartedAt is moved back), else now."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            now = datetime.now(timezone.utc)
            started = (docker_timestamp(now - timedelta(seconds=ran_for)) if ran_for is not None
                       else state.started_at or docker_timestamp(now))
            self.containers[state.container_id] = replace(
                state, status="exited", exit_code=exit_code, started_at=started,
                finished_at=docker_timestamp(now))
            self._ended(state.container_id, "die")

    def set_health(self, task_id: str, container_name: str, health: str | None) -> None:
        """Docker's health status of the container: starting, healthy, unhealthy (or None)."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            self.containers[state.container_id] = replace(state, health=health)
            self._event(state.container_id, f"health_status: {health}")

    def delete(self, task_id: str, container_name: str) -> None:
        """Someone removed the container behind the agent's back."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            self._ended(state.container_id, "destroy")
            del self.containers[state.container_id]

    def write(self, task_id: str, container_name: str, data: bytes) -> None:
        """The container's process writes `data` (one chunk of its output)."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            self.output.setdefault(state.container_id, []).append((time.time(), data))
            for stream in self._followers.get(state.container_id, ()):
                stream.put(data)

    def _event(self, container_id: str, action: str) -> None:
        """Tell the open `events` streams of the container's instance (with the lock held)."""
        state, spec = self.containers[container_id], self.specs[container_id]
        event = {"Type": "container", "Action": action, "id": container_id,
                 "Actor": {"ID": container_id, "Attributes": {
                     LABEL_TASK_ID: state.task_id, LABEL_CONTAINER_NAME: state.container_name,
                     LABEL_INSTANCE: spec.instance_id, "name": state.name}}}
        self._watchers = [(i, s) for i, s in self._watchers if not s.closed]
        for instance_id, stream in self._watchers:
            if instance_id == spec.instance_id:
                stream.put(event)

    def _ended(self, container_id: str, action: str) -> None:
        """The container stopped running (or went): followed logs end (with the lock held)."""
        self._event(container_id, action)
        for stream in self._followers.pop(container_id, ()):
            stream.end()

    # -- the ContainerRuntime protocol --------------------------------------------------------

    def _enter(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.unavailable:
            raise RuntimeUnavailable("fake docker is unavailable")
        pending = self._failures.get(operation)
        if pending:
            raise pending.pop(0)

    def _lookup(self, container_id: str) -> ContainerState:
        """By id, or by name as Docker accepts one where an id goes (counts as no call)."""
        state = self.containers.get(container_id)
        return state if state is not None else self._by_name(container_id)

    def _by_name(self, name: str) -> ContainerState:
        for state in self.containers.values():
            if state.name == name:
                return state
        raise ContainerNotFound(name)

    def ping(self) -> bool:
        return not self.unavailable

    def image_present(self, image: str) -> bool:
        self._enter("image_present")
        return image in self.images

    def pull(self, image: str, auth: dict | None = None) -> None:
        with self._lock:
            self._enter("pull")
            self.pull_auth[image] = auth
            if self.registry is not None and image not in self.registry:
                raise ImageNotFound(f"manifest unknown: {image}")
            self.images.add(image)

    def create(self, spec: ContainerSpec) -> ContainerState:
        with self._lock:
            self._enter("create")
            name = docker_container_name(spec.task_id, spec.container_name)
            try:
                return self._by_name(name)
            except ContainerNotFound:
                pass
            if spec.image not in self.images:
                raise ImageNotFound(f"no such image: {spec.image}")
            container_id = f"fake{next(self._ids):060d}"
            self.containers[container_id] = ContainerState(
                container_id=container_id, name=name, task_id=spec.task_id,
                container_name=spec.container_name, status="created", exit_code=None,
                network_bindings=(), started_at=None, finished_at=None,
                stop_timeout=spec.stop_timeout)
            self.specs[container_id] = spec
            self._event(container_id, "create")
            return self.containers[container_id]

    def start(self, container_id: str) -> None:
        with self._lock:
            self._enter("start")
            state = self._lookup(container_id)
            if state.status in ("created", "exited"):
                spec = self.specs[state.container_id]
                bindings = tuple(NetworkBinding("0.0.0.0", p.container_port,
                                                p.host_port or next(self._ports), p.protocol)
                                 for p in spec.port_mappings)
                self.containers[state.container_id] = replace(
                    state, status="running", exit_code=None, network_bindings=bindings,
                    started_at=docker_timestamp(datetime.now(timezone.utc)),
                    health="starting" if spec.healthcheck is not None else None)
                self._event(state.container_id, "start")

    def stop(self, container_id: str, timeout: float) -> None:
        with self._lock:
            self._enter("stop")
            state = self.containers.get(container_id)
            if state is not None and state.status == "running":
                self.stops.append((state.container_name, timeout))
                self.containers[container_id] = replace(
                    state, status="exited", exit_code=143,
                    finished_at=docker_timestamp(datetime.now(timezone.utc)),
                    # as Docker: a stopped container with a health check is "unhealthy"
                    health="unhealthy" if state.health is not None else None)
                self._ended(container_id, "die")
                self._event(container_id, "stop")

    def remove(self, container_id: str) -> None:
        with self._lock:
            self._enter("remove")
            if container_id in self.containers:
                self._ended(container_id, "destroy")
                del self.containers[container_id]

    def inspect(self, container_id: str) -> ContainerState:
        with self._lock:
            self._enter("inspect")
            return self._lookup(container_id)

    def container_summaries(self, instance_id: str) -> list[tuple[str, str, str]]:
        with self._lock:
            self._enter("container_summaries")
            return [(cid, s.task_id, s.status) for cid, s in self.containers.items()
                    if self.specs[cid].instance_id == instance_id]

    def list_containers(self, instance_id: str | None = None) -> list[ContainerState]:
        with self._lock:
            self._enter("list_containers")
            return [s for cid, s in self.containers.items()
                    if instance_id is None or self.specs[cid].instance_id == instance_id]

    def logs(self, container_id: str, follow: bool = False, since: float | None = None,
             tail: int | None = None) -> FakeStream:
        """The chunks `write` gave, each counting as one line for `tail`."""
        with self._lock:
            self._enter("logs")
            state = self._lookup(container_id)
            chunks = [data for at, data in self.output.get(state.container_id, ())
                      if not since or at >= since]
            stream = FakeStream(tuple(chunks[-tail:] if tail else chunks))
            if follow and state.status == "running":
                self._followers.setdefault(state.container_id, []).append(stream)
            else:
                stream.end()
            return stream

    def events(self, instance_id: str) -> FakeStream:
        with self._lock:
            self._enter("events")
            stream = FakeStream()
            self._watchers.append((instance_id, stream))
            return stream

    def close(self) -> None:
        pass
