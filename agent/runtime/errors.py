"""The container runtime's errors and the table that classifies Docker's failures.

Every runtime (the Docker adapter, the fake) raises only these, drawn once here::

    ContainerRuntimeError            retriable=False  bad request (4xx), auth refused, ...
    ├── ImageNotFound                retriable=False  pull: not found / manifest unknown;
    │                                                 create: image not present locally
    ├── ContainerNotFound            retriable=False  404 on start / inspect
    └── RuntimeUnavailable           retriable=True   daemon down, timeouts, 5xx, registry
                                                      unreachable

"Not found" on `stop` and `remove` counts as done, not as an error (`WHEN_NOT_FOUND`).

A registry that refuses connections (or whose name does not resolve) makes Docker answer 500
"dial tcp ...: connection refused"; that is `RuntimeUnavailable`: the registry may be
restarting, and the task engine bounds its retries. A registry that answers "manifest unknown" or
"name unknown" (Docker 20.10 relays these as 500 too, so the text decides) is `ImageNotFound`.

The rules are plain data and functions of Docker's status code and text: this module imports
nothing from the `docker` SDK. The adapter reads the SDK's exceptions and applies them.
"""

from __future__ import annotations

__all__ = [
    "ContainerRuntimeError",
    "ImageNotFound",
    "ContainerNotFound",
    "RuntimeUnavailable",
    "WHEN_NOT_FOUND",
    "NAME_IN_USE",
    "REMOVAL_IN_PROGRESS",
    "answered",
    "unanswered",
    "not_found",
    "pull_failed",
]


class ContainerRuntimeError(Exception):
    """Docker could not do what was asked. `retriable` says whether trying again may help."""

    retriable: bool = False


class ImageNotFound(ContainerRuntimeError):
    """The registry has no such image (pull), or the image is not present locally (create)."""


class ContainerNotFound(ContainerRuntimeError):
    """No container with that id or name."""


class RuntimeUnavailable(ContainerRuntimeError):
    """The Docker daemon or a registry did not answer properly: down, timed out, 5xx."""

    retriable = True


# What Docker's "not found" means for each operation: the error raised, or None when the
# operation's goal already holds. Operations not listed follow the general rule (`answered`).
WHEN_NOT_FOUND: dict[str, type[ContainerRuntimeError] | None] = {
    "pull": ImageNotFound,        # the registry has no such repository or tag
    "create": ImageNotFound,      # only "no such image": not present locally (pull first)
    "start": ContainerNotFound,
    "inspect": ContainerNotFound,
    "stop": None,                 # gone counts as stopped
    "remove": None,               # gone counts as removed
}

# 409 texts that are not failures: on create, the name is taken (the container is adopted when
# it is this task's); on remove, Docker is removing it already (counts as done).
NAME_IN_USE = "already in use"
REMOVAL_IN_PROGRESS = "already in progress"

# Docker relays registry answers on pull as text (often with status 500); these decide.
_PULL_NOT_FOUND = ("manifest unknown", "name unknown", "not found", "repository does not exist",
                   "no such image")
_PULL_REFUSED = ("unauthorized", "denied", "authentication required", "no basic auth credentials",
                 "incorrect username or password", "unknown blob", "blob unknown")


def answered(status: int | None, message: str) -> ContainerRuntimeError:
    """Docker answered with an error: 5xx is retriable (the daemon or a registry failed), any
    other status is not."""
    if status is not None and status >= 500:
        return RuntimeUnavailable(message)
    return ContainerRuntimeError(message)


def unanswered(message: str) -> ContainerRuntimeError:
    """Docker did not answer at all (socket gone, refused, timed out, cut mid-stream):
    retriable."""
    return RuntimeUnavailable(message)


def not_found(operation: str, message: str) -> ContainerRuntimeError | None:
    """Docker said "not found" to `operation` (a key of `WHEN_NOT_FOUND`): the error to raise,
    or None when that counts as done."""
    kind = WHEN_NOT_FOUND[operation]
    return None if kind is None else kind(message)


def pull_failed(text: str, what: str, status: int | None) -> ContainerRuntimeError:
    """Classify a failed pull by Docker's message, falling back to its status code.

    `status` is None for an error reported inside the pull's progress stream (a download cut
    off or failing mid-way): retriable unless the text says the image is missing or refused.
    """
    lowered = text.lower()
    message = f"{what}: {text}"
    if any(fragment in lowered for fragment in _PULL_NOT_FOUND):
        return ImageNotFound(message)
    if any(fragment in lowered for fragment in _PULL_REFUSED):
        return ContainerRuntimeError(message)
    if status is None or status >= 500:
        return RuntimeUnavailable(message)
    return ContainerRuntimeError(message)
