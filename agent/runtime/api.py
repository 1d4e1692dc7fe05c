"""The container runtime as the agent sees it: the `ContainerRuntime` protocol.

Two implementations: `agent.runtime.docker_sdk.DockerRuntime` (a real Docker engine) and
`agent.fake_runtime.FakeRuntime` (in memory, with call counts). The task engine, the log
shipper and the session are typed against this protocol, so they load without the `docker` SDK.

Every method raises only the errors of `agent.runtime.errors` (`ContainerRuntimeError` and its
subclasses; `retriable` says whether trying again may help); a `ValueError` is a caller's bug.
Implementations are safe to share between threads.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol, TypeVar, runtime_checkable

from agent.runtime.model import ContainerSpec, ContainerState

__all__ = ["ContainerRuntime", "Stream"]

T_co = TypeVar("T_co", covariant=True)


class Stream(Protocol[T_co]):
    """A long answer (log chunks, events) read as it comes."""

    def __iter__(self) -> Iterator[T_co]:
        """The items as they come; ends when the source ends or after `close()`. A failure
        while reading raises a `ContainerRuntimeError`."""
        ...

    def close(self) -> None:
        """End the stream, from any thread; the reader's loop then ends. Closing twice is
        fine."""
        ...


@runtime_checkable
class ContainerRuntime(Protocol):
    """Container operations on one container engine, with errors classified."""

    def ping(self) -> bool:
        """True when the engine answers; never raises."""
        ...

    def image_present(self, image: str) -> bool:
        """True when `image` (a reference; no tag means latest) is in the local image store.
        Raises `RuntimeUnavailable` when the engine does not answer."""
        ...

    def pull(self, image: str, auth: dict | None = None) -> None:
        """Pull `image` into the local image store (tag defaults to latest; "repo@sha256:..."
        pulls by digest). Postcondition: `image_present(image)`.

        `auth` is Docker's auth config ({"username", "password"} or {"identitytoken"}); None
        uses the engine host's own. Raises `ImageNotFound` when the registry has no such
        repository or tag, `RuntimeUnavailable` when the engine or the registry is unreachable
        or failed, `ContainerRuntimeError` when access is refused or the reference is invalid.
        """
        ...

    def create(self, spec: ContainerSpec) -> ContainerState:
        """Create (not start) the container for `spec` and return its state ("created").

        Its name is `docker_container_name(spec.task_id, spec.container_name)`. When a
        container of that name exists already, its state is returned instead, whatever it is
        (adoption after a crash between create and remember): never a duplicate. Raises
        `ImageNotFound` when the image is not present locally (pull first),
        `ContainerRuntimeError` when the name is taken by a container of another task,
        `ValueError` for a network mode other than bridge, host or none.
        """
        ...

    def start(self, container_id: str) -> None:
        """Start the container (by id or name); starting a running one is fine, starting an
        exited one runs it again in place. Raises `ContainerNotFound`."""
        ...

    def stop(self, container_id: str, timeout: float) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after `timeout` seconds (rounded
        up); returns once the container has stopped. A container that is already stopped, or
        gone, counts as stopped."""
        ...

    def remove(self, container_id: str) -> None:
        """Remove the container, killing it if it runs. Gone already (or going) counts as
        done."""
        ...

    def inspect(self, container_id: str) -> ContainerState:
        """The container's state now (by id or name). Raises `ContainerNotFound`."""
        ...

    def list_containers(self, instance_id: str | None = None) -> list[ContainerState]:
        """Every Skiff container (stopped ones too), only `instance_id`'s when given.

        Used to adopt containers after an agent restart. Several agents may share one engine;
        each passes its own instance id and so sees only its own containers.
        """
        ...

    def container_summaries(self, instance_id: str) -> list[tuple[str, str, str]]:
        """(container id, task id, engine state) of the instance's containers, stopped ones
        too; cheap enough to call often (no inspect per container)."""
        ...

    def logs(self, container_id: str, follow: bool = False, since: float | None = None,
             tail: int | None = None) -> Stream[bytes]:
        """The container's output (stdout and stderr as the engine stores them), as chunks of
        bytes: from `since` (seconds since the epoch) or its last `tail` lines when given. With
        `follow` it goes on until the container stops or the stream is closed. Raises
        `ContainerRuntimeError` (an unknown container is one), on opening or while reading."""
        ...

    def events(self, instance_id: str) -> Stream[dict[str, Any]]:
        """The engine's events for this instance's containers (start, die, health_status,
        destroy, ...) as they happen, until closed: dicts in Docker's shape, with "Action" and
        the container's labels under Actor.Attributes."""
        ...

    def close(self) -> None:
        """Release connections; a runtime used again afterwards reconnects."""
        ...
