"""An in-memory stand-in for `DockerRuntime`, with call counts: for tests of the task engine
and for simulated agents that must not start real containers.

It keeps the real runtime's contract: deterministic names, create returns the existing id for
a known name (adoption), "not found" on stop/remove is done, and errors are the runtime's own
classes. Tests script failures with `fail_next` and move containers with `exit`.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import replace

from agent.runtime import (ContainerNotFound, ContainerRuntimeError, ContainerSpec, ContainerState,
                           NetworkBinding, docker_container_name)

__all__ = ["FakeRuntime"]


class FakeRuntime:
    def __init__(self, images: tuple[str, ...] = ()):
        self.images: set[str] = set(images)      # present locally
        self.registry: set[str] | None = None    # pullable images; None: every image
        self.containers: dict[str, ContainerState] = {}  # by id
        self.specs: dict[str, ContainerSpec] = {}
        self.calls: Counter[str] = Counter()
        self.unavailable = False                  # every call raises RuntimeUnavailable
        self._failures: dict[str, list[ContainerRuntimeError]] = {}
        self._ids = itertools.count(1)
        self._ports = itertools.count(32768)
        self._lock = threading.RLock()

    # -- scripting --------------------------------------------------------------------------

    def fail_next(self, operation: str, error: ContainerRuntimeError, times: int = 1) -> None:
        """Make the next `times` calls of `operation` raise `error`."""
        self._failures.setdefault(operation, []).extend([error] * times)

    def exit(self, task_id: str, container_name: str, exit_code: int) -> None:
        """The container's process ends with `exit_code`."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            self.containers[state.container_id] = replace(state, status="exited",
                                                          exit_code=exit_code)

    def delete(self, task_id: str, container_name: str) -> None:
        """Someone removed the container behind the agent's back."""
        with self._lock:
            state = self._by_name(docker_container_name(task_id, container_name))
            del self.containers[state.container_id]

    # -- the DockerRuntime interface ----------------------------------------------------------

    def _enter(self, operation: str) -> None:
        from agent.runtime import RuntimeUnavailable

        self.calls[operation] += 1
        if self.unavailable:
            raise RuntimeUnavailable("fake docker is unavailable")
        pending = self._failures.get(operation)
        if pending:
            raise pending.pop(0)

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
        from agent.runtime import ImageNotFound

        with self._lock:
            self._enter("pull")
            if self.registry is not None and image not in self.registry:
                raise ImageNotFound(f"manifest unknown: {image}")
            self.images.add(image)

    def create(self, spec: ContainerSpec) -> str:
        from agent.runtime import ImageNotFound

        with self._lock:
            self._enter("create")
            name = docker_container_name(spec.task_id, spec.container_name)
            try:
                return self._by_name(name).container_id
            except ContainerNotFound:
                pass
            if spec.image not in self.images:
                raise ImageNotFound(f"no such image: {spec.image}")
            container_id = f"fake{next(self._ids):060d}"
            self.containers[container_id] = ContainerState(
                container_id=container_id, name=name, task_id=spec.task_id,
                container_name=spec.container_name, status="created", exit_code=None,
                network_bindings=(), started_at=None, finished_at=None)
            self.specs[container_id] = spec
            return container_id

    def start(self, container_id: str) -> None:
        with self._lock:
            self._enter("start")
            state = self.inspect(container_id)
            if state.status == "created":
                bindings = tuple(NetworkBinding("0.0.0.0", p.container_port,
                                                p.host_port or next(self._ports), p.protocol)
                                 for p in self.specs[container_id].port_mappings)
                self.containers[container_id] = replace(state, status="running",
                                                        network_bindings=bindings)

    def stop(self, container_id: str, timeout: float) -> None:
        with self._lock:
            self._enter("stop")
            state = self.containers.get(container_id)
            if state is not None and state.status == "running":
                self.containers[container_id] = replace(state, status="exited", exit_code=143)

    def remove(self, container_id: str) -> None:
        with self._lock:
            self._enter("remove")
            self.containers.pop(container_id, None)

    def inspect(self, container_id: str) -> ContainerState:
        with self._lock:
            self._enter("inspect")
            state = self.containers.get(container_id)
            if state is None:
                state = self._by_name(container_id)  # Docker accepts a name where an id goes
            return state

    def list_containers(self, instance_id: str | None = None) -> list[ContainerState]:
        with self._lock:
            self._enter("list_containers")
            return [s for cid, s in self.containers.items()
                    if instance_id is None or self.specs[cid].instance_id == instance_id]

    def close(self) -> None:
        pass
