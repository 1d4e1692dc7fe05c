"""The engine-facing types of the container runtime: what the task engine hands a runtime and
what it gets back, as plain dataclasses. No Docker type appears here, and this module imports
nothing from the `docker` SDK, so the engine's decision code and the fake runtime load without
it.

Adoption (DESIGN.md invariant 5) starts here: every container gets a deterministic name
(`docker_container_name`) before it is created, plus Skiff's labels for the rest, so an agent
that crashed between "create" and "remember" finds its container again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

__all__ = [
    "LABEL_TASK_ID",
    "LABEL_CONTAINER_NAME",
    "LABEL_CLUSTER",
    "LABEL_INSTANCE",
    "LABEL_HOST_PORTS",
    "PortSpec",
    "HealthCheck",
    "ContainerSpec",
    "NetworkBinding",
    "ContainerState",
    "docker_container_name",
    "docker_timestamp",
    "just_started",
]

LABEL_TASK_ID = "skiff.task-id"
LABEL_CONTAINER_NAME = "skiff.container-name"
LABEL_CLUSTER = "skiff.cluster"
LABEL_INSTANCE = "skiff.container-instance"
# Host-mode port mappings, e.g. "80/tcp,53/udp": Docker reports no bindings in host mode, so the
# adapter remembers them at create time to report them from inspect.
LABEL_HOST_PORTS = "skiff.host-ports"

_NAME_PREFIX = "skiff"
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
# No "-" in a task id, so "skiff-<task_id>-<container_name>" splits back uniquely.
_TASK_ID = re.compile(r"^[a-zA-Z0-9_.]+$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")


@dataclass(frozen=True)
class PortSpec:
    """One port mapping of a container; `host_port` 0 lets Docker pick a free host port."""

    container_port: int
    host_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class HealthCheck:
    """A Docker health check (ECS `healthCheck`); durations in seconds, fractions allowed.

    `test` is Docker's: ("CMD", program, args...) or ("CMD-SHELL", "shell command").
    """

    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 0.0


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one container of one task (a task definition's fields)."""

    task_id: str
    container_name: str
    cluster: str
    instance_id: str
    image: str
    cpu: int = 0  # ECS CPU units -> CpuShares (at least 2, as the ECS agent)
    memory: int | None = None  # MiB, hard limit -> Memory
    memory_reservation: int | None = None  # MiB, soft limit -> MemoryReservation
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    port_mappings: tuple[PortSpec, ...] = ()
    working_directory: str | None = None
    docker_labels: tuple[tuple[str, str], ...] = ()
    network_mode: str = "bridge"  # "bridge" | "host" | "none"
    init: bool = False  # Docker's --init (ECS linuxParameters.initProcessEnabled)
    healthcheck: HealthCheck | None = None  # None: the image's own HEALTHCHECK, if any
    stop_timeout: int | None = None  # seconds -> StopTimeout; None: Docker's default
    # The task definition's `secrets`, resolved: added to the environment at create, and
    # shown by no repr (so no log line of a spec carries a value).
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # From `repositoryCredentials`: Docker's auth config for pulling `image` ({"username",
    # "password"} as pairs, to stay hashable); None: the agent's own credentials.
    registry_auth: tuple[tuple[str, str], ...] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class NetworkBinding:
    """A port of a container reachable on the host (ECS `networkBindings`)."""

    bind_ip: str
    container_port: int
    host_port: int
    protocol: str


@dataclass(frozen=True)
class ContainerState:
    """What Docker says about one container, with Skiff's labels decoded."""

    container_id: str
    name: str  # Docker's name, without the leading "/"
    task_id: str  # from LABEL_TASK_ID ("" when the container has none)
    container_name: str  # from LABEL_CONTAINER_NAME
    status: str  # created|running|paused|restarting|removing|exited|dead
    exit_code: int | None  # set when exited or dead
    network_bindings: tuple[NetworkBinding, ...]
    started_at: str | None  # RFC 3339 as Docker gives it; None when never started
    finished_at: str | None
    health: str | None = None  # State.Health.Status: starting|healthy|unhealthy; None: no check
    stop_timeout: int | None = None  # Config.StopTimeout, seconds; None: Docker's default

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def exited(self) -> bool:
        return self.status in ("exited", "dead")


def docker_container_name(task_id: str, container_name: str) -> str:
    """The Docker name of a task's container: "skiff-<task_id>-<container_name>".

    Deterministic, so it is known before the container is created (DESIGN.md invariant 5), and
    injective: a task id has no "-", so the name splits back into its two parts. Raises
    ValueError for a task id or container name Docker (or that split) cannot take.
    """
    if not _TASK_ID.match(task_id):
        raise ValueError(f"task_id {task_id!r}: expected letters, digits, '_' or '.'")
    if not _CONTAINER_NAME.match(container_name):
        raise ValueError(f"container_name {container_name!r}: expected letters, digits, "
                         "'_', '.' or '-'")
    name = f"{_NAME_PREFIX}-{task_id}-{container_name}"
    assert _DOCKER_NAME.match(name), name
    return name


def docker_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC, as Docker writes StartedAt / FinishedAt."""
    return moment.isoformat().replace("+00:00", "Z")


def just_started(state: ContainerState, spec: ContainerSpec) -> ContainerState | None:
    """What an inspect would say of a created container right after its start succeeded, or
    None when only Docker knows: the host ports it picked for published bridge ports. (A
    process that exits at once is told by Docker's "die" event, as any later exit is.)"""
    if spec.network_mode == "bridge" and spec.port_mappings:
        return None
    return replace(state, status="running", exit_code=None,
                   started_at=docker_timestamp(datetime.now(timezone.utc)),
                   health="starting" if spec.healthcheck is not None else None)
