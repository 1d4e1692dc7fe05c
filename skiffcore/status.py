"""The ECS task lifecycle as an ordered enum.

Values equal the numbers of `skiff.v1.TaskStatus`, so conversion at the gRPC edge is
`TaskStatus(pb_value)`. A status only moves forward: `advance` is the one place that
decides whether an observed status replaces the current one.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["HealthStatus", "TaskStatus", "advance", "StopCode"]


class TaskStatus(IntEnum):
    PROVISIONING = 1
    PENDING = 2
    ACTIVATING = 3
    RUNNING = 4
    DEACTIVATING = 5
    STOPPING = 6
    DEPROVISIONING = 7
    STOPPED = 8

    @classmethod
    def parse(cls, name: str) -> "TaskStatus":
        """ECS name (any case) to status; ValueError naming the allowed values otherwise."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown task status {name!r}; expected one of "
                             + ", ".join(s.name for s in cls)) from None


class HealthStatus(IntEnum):
    """ECS `healthStatus` of a container or task; values equal the numbers of
    `skiff.v1.HealthStatus`. Records store the name, as they store a task's status."""

    UNKNOWN = 0  # being evaluated, no health check, or not known
    HEALTHY = 1
    UNHEALTHY = 2


def advance(current: TaskStatus, new: TaskStatus) -> TaskStatus:
    """The status after observing `new`: statuses never move backwards."""
    return new if new > current else current


class StopCode:
    """ECS `stopCode` values Skiff produces."""

    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    TASK_FAILED_TO_START = "TaskFailedToStart"
