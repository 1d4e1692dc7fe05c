"""Parse and validate an ECS task definition (pure: no I/O).

Input is the JSON object you would give ``aws ecs register-task-definition
--cli-input-json file://x.json`` (RegisterTaskDefinition's request shape). Output is a frozen
:class:`TaskDefinitionSpec`, or a :class:`TaskDefinitionError` that lists *every* problem found,
each naming the field path (``containerDefinitions[1].portMappings[0].hostPort: ...``).

Supported (applied by Skiff):

* task level: ``family``, ``containerDefinitions``, ``cpu`` (``"1024"``, ``1024``, ``"1 vCPU"``,
  ``".25 vCPU"``; stored as CPU units), ``memory`` (``"512"``, ``512``, ``"2 GB"``; stored as MiB),
  ``networkMode`` (``bridge``, the default, or ``host``; ``awsvpc`` and ``none`` are rejected).
* per container: ``name``, ``image``, ``cpu``, ``memory``, ``memoryReservation``, ``essential``
  (default true), ``command``, ``entryPoint``, ``environment``, ``portMappings``
  (``containerPort``, ``hostPort``: fixed, or 0/absent for a dynamic port in bridge mode, absent or
  equal to ``containerPort`` in host mode; ``protocol`` ``tcp`` (default) or ``udp``),
  ``workingDirectory``, ``dockerLabels``, ``linuxParameters.initProcessEnabled``,
  ``healthCheck`` (``command`` starting with ``CMD`` or ``CMD-SHELL``; ``interval`` 5-300 s,
  default 30; ``timeout`` 2-60 s, default 5; ``retries`` 1-10, default 3; ``startPeriod`` 0-300 s,
  default 0), ``dependsOn`` (``containerName`` of another container of the task, ``condition``
  ``START``, ``COMPLETE``, ``SUCCESS`` or ``HEALTHY``; COMPLETE and SUCCESS not on an essential
  container, HEALTHY only on one with a ``healthCheck``, no cycles), ``stopTimeout`` (2-120 s;
  absent: the agent's default), ``restartPolicy`` (``enabled``, ``ignoredExitCodes`` at most 50,
  ``restartAttemptPeriod`` 60-1800 s, default 300), ``secrets`` (``name`` of an environment
  variable, ``valueFrom`` a secret's name or ARN: see :mod:`controlplane.secretnames`; a name
  may not repeat one of ``environment``), ``repositoryCredentials.credentialsParameter`` (a
  secret holding ``{"username": ..., "password": ...}``). Secrets are only named here; their
  values are looked up when the task starts.

Ignored (accepted, kept in :attr:`TaskDefinitionSpec.raw_document`, reported in
:attr:`TaskDefinitionSpec.ignored_fields` as dotted paths): every other field of ECS's model, e.g.
``volumes``, ``tags``, ``requiresCompatibilities``, ``containerDefinitions[0].startTimeout``,
``containerDefinitions[0].logConfiguration``, ``containerDefinitions[1].linuxParameters.capabilities``,
``containerDefinitions[0].portMappings[0].appProtocol``. Their JSON type is checked (as the AWS
CLI does) but not their content. A field whose value is an empty list or object (``"volumes": []``)
asks for nothing, so it is not reported. A field ECS does not know (top level, container
definition, port mapping, environment entry, linuxParameters, healthCheck, dependsOn entry,
restartPolicy) is an error, as it is for ECS; so are
the keys only ``describe-task-definition`` output has (``taskDefinitionArn``, ``revision``, ...).

Example::

    spec = parse_task_definition({"family": "web", "containerDefinitions": [
        {"name": "nginx", "image": "nginx:1.27", "memory": 128, "portMappings": [{"containerPort": 80}]}]})
    assert spec.containers[0].port_mappings[0] == PortMapping(container_port=80, host_port=0)

The known field names come from botocore's ECS service model (``ecs/2014-11-13``, botocore 1.43).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Literal, TypeGuard, overload

from controlplane.secretnames import secret_reference

__all__ = [
    "ECS_CONTAINER_DEFINITION_FIELDS",
    "ECS_KEY_VALUE_PAIR_FIELDS",
    "ECS_LINUX_PARAMETERS_FIELDS",
    "ECS_PORT_MAPPING_FIELDS",
    "ECS_TASK_DEFINITION_FIELDS",
    "DEPENDENCY_CONDITIONS",
    "MAX_CONTAINERS",
    "SUPPORTED_NETWORK_MODES",
    "ContainerDefinition",
    "ContainerDependency",
    "FieldError",
    "HealthCheck",
    "PortMapping",
    "RestartPolicy",
    "TaskDefinitionError",
    "TaskDefinitionSpec",
    "parse_task_definition",
]

# --------------------------------------------------------------------------------------------
# ECS's model (botocore data/ecs/2014-11-13/service-2.json): member name -> JSON kind.
# Kinds: "string", "integer", "boolean", "list", "object" (structure or map).

_TASK_FIELD_KINDS: Mapping[str, str] = {
    "family": "string",
    "taskRoleArn": "string",
    "executionRoleArn": "string",
    "networkMode": "string",
    "containerDefinitions": "list",
    "volumes": "list",
    "placementConstraints": "list",
    "requiresCompatibilities": "list",
    "cpu": "string",
    "memory": "string",
    "tags": "list",
    "pidMode": "string",
    "ipcMode": "string",
    "proxyConfiguration": "object",
    "inferenceAccelerators": "list",
    "ephemeralStorage": "object",
    "runtimePlatform": "object",
    "enableFaultInjection": "boolean",
}

_CONTAINER_FIELD_KINDS: Mapping[str, str] = {
    "name": "string",
    "image": "string",
    "repositoryCredentials": "object",
    "cpu": "integer",
    "memory": "integer",
    "memoryReservation": "integer",
    "links": "list",
    "portMappings": "list",
    "essential": "boolean",
    "restartPolicy": "object",
    "entryPoint": "list",
    "command": "list",
    "environment": "list",
    "environmentFiles": "list",
    "mountPoints": "list",
    "volumesFrom": "list",
    "linuxParameters": "object",
    "secrets": "list",
    "dependsOn": "list",
    "startTimeout": "integer",
    "stopTimeout": "integer",
    "versionConsistency": "string",
    "hostname": "string",
    "user": "string",
    "workingDirectory": "string",
    "disableNetworking": "boolean",
    "privileged": "boolean",
    "readonlyRootFilesystem": "boolean",
    "dnsServers": "list",
    "dnsSearchDomains": "list",
    "extraHosts": "list",
    "dockerSecurityOptions": "list",
    "interactive": "boolean",
    "pseudoTerminal": "boolean",
    "dockerLabels": "object",
    "ulimits": "list",
    "logConfiguration": "object",
    "healthCheck": "object",
    "systemControls": "list",
    "resourceRequirements": "list",
    "firelensConfiguration": "object",
    "credentialSpecs": "list",
}

_PORT_MAPPING_FIELD_KINDS: Mapping[str, str] = {
    "containerPort": "integer",
    "hostPort": "integer",
    "protocol": "string",
    "name": "string",
    "appProtocol": "string",
    "containerPortRange": "string",
}

_KEY_VALUE_PAIR_FIELD_KINDS: Mapping[str, str] = {"name": "string", "value": "string"}
_SECRET_FIELD_KINDS: Mapping[str, str] = {"name": "string", "valueFrom": "string"}
_REPOSITORY_CREDENTIALS_FIELD_KINDS: Mapping[str, str] = {"credentialsParameter": "string"}

_LINUX_PARAMETERS_FIELD_KINDS: Mapping[str, str] = {
    "capabilities": "object",
    "devices": "list",
    "initProcessEnabled": "boolean",
    "sharedMemorySize": "integer",
    "tmpfs": "list",
    "maxSwap": "integer",
    "swappiness": "integer",
}

_HEALTH_CHECK_FIELD_KINDS: Mapping[str, str] = {
    "command": "list",
    "interval": "integer",
    "timeout": "integer",
    "retries": "integer",
    "startPeriod": "integer",
}

_CONTAINER_DEPENDENCY_FIELD_KINDS: Mapping[str, str] = {"containerName": "string", "condition": "string"}

_RESTART_POLICY_FIELD_KINDS: Mapping[str, str] = {
    "enabled": "boolean",
    "ignoredExitCodes": "list",
    "restartAttemptPeriod": "integer",
}

ECS_TASK_DEFINITION_FIELDS: frozenset[str] = frozenset(_TASK_FIELD_KINDS)
ECS_CONTAINER_DEFINITION_FIELDS: frozenset[str] = frozenset(_CONTAINER_FIELD_KINDS)
ECS_PORT_MAPPING_FIELDS: frozenset[str] = frozenset(_PORT_MAPPING_FIELD_KINDS)
ECS_KEY_VALUE_PAIR_FIELDS: frozenset[str] = frozenset(_KEY_VALUE_PAIR_FIELD_KINDS)
ECS_LINUX_PARAMETERS_FIELDS: frozenset[str] = frozenset(_LINUX_PARAMETERS_FIELD_KINDS)

# What Skiff applies; every other known field is ignored (and reported).
_SUPPORTED_TASK_FIELDS = frozenset({"family", "containerDefinitions", "cpu", "memory", "networkMode",
                                    "placementConstraints"})
_SUPPORTED_CONTAINER_FIELDS = frozenset(
    {
        "name",
        "image",
        "cpu",
        "memory",
        "memoryReservation",
        "essential",
        "command",
        "entryPoint",
        "environment",
        "portMappings",
        "workingDirectory",
        "dockerLabels",
        "linuxParameters",  # only its initProcessEnabled; other sub-fields are ignored
        "healthCheck",
        "dependsOn",
        "stopTimeout",
        "restartPolicy",
        "secrets",
        "repositoryCredentials",
    }
)
_SUPPORTED_PORT_MAPPING_FIELDS = frozenset({"containerPort", "hostPort", "protocol"})
_SUPPORTED_LINUX_PARAMETERS_FIELDS = frozenset({"initProcessEnabled"})

ECS_NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
SUPPORTED_NETWORK_MODES = ("bridge", "host")
PROTOCOLS = ("tcp", "udp")

MAX_CONTAINERS = 10  # ECS quota: container definitions per task definition
# ECS HealthCheck limits and defaults, in seconds (retries: a count).
HEALTH_CHECK_INTERVAL = (5, 300, 30)
HEALTH_CHECK_TIMEOUT = (2, 60, 5)
HEALTH_CHECK_RETRIES = (1, 10, 3)
HEALTH_CHECK_START_PERIOD = (0, 300, 0)
HEALTH_CHECK_KINDS = ("CMD", "CMD-SHELL")
DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
STOP_TIMEOUT_RANGE = (2, 120)  # seconds (ECS's maximum is 120)
RESTART_ATTEMPT_PERIOD = (60, 1800, 300)  # seconds: min, max, default
MAX_IGNORED_EXIT_CODES = 50
MIN_CONTAINER_MEMORY_MIB = 6  # Docker >= 20.10 refuses a hard limit below 6 MiB
TASK_CPU_RANGE = (128, 196608)  # ECS, EC2/external launch type: 0.125 .. 192 vCPU
CPU_UNITS_PER_VCPU = 1024
MIB_PER_GB = 1024

_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,255}", re.ASCII)

# Docker image reference grammar (distribution/reference), sha256 digests only (as ECS).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_IMAGE_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_IMAGE_RE = re.compile(
    rf"(?P<name>{_IMAGE_NAME})(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>sha256:[a-f0-9]{{64}}))?",
    re.ASCII,
)
_IMAGE_NAME_MAX = 255  # Docker and ECS: the name (everything before ':tag' / '@digest')
_IMAGE_MAX = 255 + 1 + 128 + 1 + 71

_VCPU_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*vcpus?\s*", re.ASCII | re.IGNORECASE)
_GB_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*gb\s*", re.ASCII | re.IGNORECASE)
_INT_RE = re.compile(r"\s*\d+\s*", re.ASCII)


# --------------------------------------------------------------------------------------------
# The model.


@dataclass(frozen=True)
class PortMapping:
    """One ``portMappings`` entry. ``host_port`` 0 means a dynamic host port (bridge mode)."""

    container_port: int
    host_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class HealthCheck:
    """A container's ``healthCheck``, with ECS's defaults filled in; times in seconds.

    ``command`` starts with ``CMD`` (the rest is run directly) or ``CMD-SHELL`` (the rest is run
    with the container's shell), as Docker's ``HEALTHCHECK``.
    """

    command: tuple[str, ...]
    interval: int = HEALTH_CHECK_INTERVAL[2]
    timeout: int = HEALTH_CHECK_TIMEOUT[2]
    retries: int = HEALTH_CHECK_RETRIES[2]
    start_period: int = HEALTH_CHECK_START_PERIOD[2]


@dataclass(frozen=True)
class ContainerDependency:
    """One ``dependsOn`` entry: start only once ``container_name`` reached ``condition``."""

    container_name: str
    condition: str  # START | COMPLETE | SUCCESS | HEALTHY


@dataclass(frozen=True)
class RestartPolicy:
    """A container's ``restartPolicy``: restart it in place when it exits, unless its exit code
    is ignored or it ran less than ``restart_attempt_period`` seconds since it last (re)started."""

    enabled: bool
    ignored_exit_codes: tuple[int, ...] = ()
    restart_attempt_period: int = RESTART_ATTEMPT_PERIOD[2]


@dataclass(frozen=True)
class ContainerDefinition:
    """The applied part of one ``containerDefinitions`` entry."""

    name: str
    image: str
    cpu: int = 0
    memory: int | None = None
    memory_reservation: int | None = None
    essential: bool = True
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    port_mappings: tuple[PortMapping, ...] = ()
    working_directory: str | None = None
    docker_labels: tuple[tuple[str, str], ...] = ()
    init_process_enabled: bool = False
    health_check: HealthCheck | None = None
    depends_on: tuple[ContainerDependency, ...] = ()
    stop_timeout: int | None = None  # seconds; None: the agent's default
    restart_policy: RestartPolicy | None = None
    # (environment variable, secret name): values are looked up only when the task starts.
    secrets: tuple[tuple[str, str], ...] = ()
    repository_credentials: str | None = None  # the name of a secret holding the login

    @property
    def reserved_memory(self) -> int:
        """MiB this container takes from an instance: memoryReservation, else memory, else 0."""
        if self.memory_reservation is not None:
            return self.memory_reservation
        return self.memory if self.memory is not None else 0


@dataclass(frozen=True)
class TaskDefinitionSpec:
    """A validated task definition.

    ``cpu`` is in CPU units and ``memory`` in MiB (task level, ``None`` when not given).
    ``raw_document`` is a deep copy of the input (with the ignored fields); treat it as
    read-only. It takes no part in equality or hashing.
    """

    family: str
    containers: tuple[ContainerDefinition, ...]
    network_mode: str = "bridge"
    cpu: int | None = None
    memory: int | None = None
    ignored_fields: tuple[str, ...] = ()
    raw_document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Scheduler constraints (memberOf) from the task definition; RunTask's are added to them.
    placement_constraints: tuple = ()

    @property
    def required_cpu(self) -> int:
        """CPU units to reserve: task-level cpu if set, else the sum of the containers' cpu."""
        if self.cpu is not None:
            return self.cpu
        return sum(c.cpu for c in self.containers)

    @property
    def required_memory(self) -> int:
        """MiB to reserve: task-level memory if set, else the sum of the containers' reserved memory."""
        if self.memory is not None:
            return self.memory
        return sum(c.reserved_memory for c in self.containers)

    @property
    def fixed_host_ports(self) -> tuple[tuple[int, str], ...]:
        """(hostPort, protocol) of every mapping with a fixed host port, in document order."""
        return tuple(
            (pm.host_port, pm.protocol)
            for c in self.containers
            for pm in c.port_mappings
            if pm.host_port != 0
        )


@dataclass(frozen=True)
class FieldError:
    """One problem, at a field path such as ``containerDefinitions[0].cpu``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class TaskDefinitionError(ValueError):
    """The document is not a valid task definition; ``errors`` lists every problem found."""

    def __init__(self, errors: tuple[FieldError, ...] | list[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self.errors)

    def __reduce__(self):  # keep ``errors`` through pickling
        return (type(self), (self.errors,))


# --------------------------------------------------------------------------------------------
# Helpers.

_ROOT_PATH = "(document)"


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.ignored: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def ignore(self, path: str, value: object) -> None:
        # An empty list/object asks for nothing, so nothing is being ignored.
        if isinstance(value, (list, dict)) and not value:
            return
        self.ignored.append(path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A short, JSON-flavoured rendering of a bad value for messages."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_KIND_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "a boolean",
    "list": "a list",
    "object": "an object",
}


def _is_kind(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(kind)


@overload
def _check_kind(value: object, kind: Literal["string"], path: str, out: _Collector
                ) -> TypeGuard[str]: ...
@overload
def _check_kind(value: object, kind: Literal["list"], path: str, out: _Collector
                ) -> TypeGuard[list[Any]]: ...
@overload
def _check_kind(value: object, kind: Literal["object"], path: str, out: _Collector
                ) -> TypeGuard[dict[Any, Any]]: ...
@overload
def _check_kind(value: object, kind: str, path: str, out: _Collector) -> bool: ...
def _check_kind(value: object, kind: str, path: str, out: _Collector) -> bool:
    """Whether `value` is of JSON `kind` (else the error, naming `path`, is collected); for
    string, list and object kinds the type checker narrows `value` too."""
    if _is_kind(value, kind):
        return True
    out.error(path, f"must be {_KIND_NAMES[kind]}, got {_show(value)}")
    return False


def _unknown_field(key: object, known: frozenset[str], path: str, out: _Collector, what: str) -> None:
    key_text = key if isinstance(key, str) else str(key)
    message = f"unknown field: {what} has no field {key_text!r}"
    close = difflib.get_close_matches(key_text, sorted(known), n=1)
    lowered = {k.lower(): k for k in known}
    if key_text.lower() in lowered:
        close = [lowered[key_text.lower()]]
    if close:
        message += f" (did you mean {close[0]!r}?)"
    out.error(_join(path, key_text), message)


def _walk_known_fields(
    obj: dict,
    kinds: Mapping[str, str],
    supported: frozenset[str],
    path: str,
    out: _Collector,
    what: str,
) -> dict[str, Any]:
    """Check every key of ``obj``: unknown -> error; known -> type-checked; known but not
    supported -> reported as ignored. Returns the supported fields whose type is right."""
    known = frozenset(kinds)
    applied: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in known:
            _unknown_field(key, known, path, out, what)
            continue
        field_path = _join(path, key)
        if key in supported:
            applied[key] = value  # type-checked by the caller, which knows more
        elif _check_kind(value, kinds[key], field_path, out):
            out.ignore(field_path, value)
    return applied


def _int_field(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    out: _Collector,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    unit: str = "",
) -> int | None:
    """The integer at obj[key] (None when absent or invalid; errors are recorded)."""
    if key not in obj:
        return None
    value = obj[key]
    field_path = _join(path, key)
    if not _check_kind(value, "integer", field_path, out):
        return None
    suffix = f" {unit}" if unit else ""
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        out.error(field_path, f"must be between {minimum} and {maximum}{suffix}, got {value}")
        return None
    if minimum is not None and value < minimum:
        out.error(field_path, f"must be at least {minimum}{suffix}, got {value}")
        return None
    if maximum is not None and value > maximum:
        out.error(field_path, f"must be at most {maximum}{suffix}, got {value}")
        return None
    return value


def _string_list(value: object, path: str, out: _Collector) -> tuple[str, ...] | None:
    if not _check_kind(value, "list", path, out):
        return None
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str):
            out.error(f"{path}[{i}]", f"must be a string, got {_show(item)}")
            ok = False
    return tuple(value) if ok else None


def _image_problem(image: str) -> str | None:
    """Why ``image`` is not a valid Docker image reference (None when it is)."""
    if not image:
        return "must not be empty"
    if any(ch.isspace() for ch in image):
        return f"must not contain whitespace, got {_show(image)}"
    if len(image) > _IMAGE_MAX:
        return f"is too long ({len(image)} characters)"
    match = _IMAGE_RE.fullmatch(image)
    if match is None:
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)
        if ":" in last[-1]:
            name = name[: len(name) - len(last[-1])] + last[-1].split(":", 1)[0]
        first, sep, rest = name.partition("/")
        repo = rest if sep and ("." in first or ":" in first or first == "localhost") else name
        if repo != repo.lower() and _IMAGE_RE.fullmatch(image.lower()):
            return f"repository name must be lower case, got {_show(image)}"
        if "@" in image:
            digest = image.split("@", 1)[1]
            if not re.fullmatch(r"sha256:[a-f0-9]{64}", digest):
                return f"digest must be sha256: followed by 64 lower-case hex digits, got {_show(digest)}"
        return (
            "is not a valid image reference (expected [registry[:port]/]repository[:tag]"
            f"[@sha256:<64 hex digits>]), got {_show(image)}"
        )
    if len(match.group("name")) > _IMAGE_NAME_MAX:
        return f"repository name must be at most {_IMAGE_NAME_MAX} characters"
    return None


def _decimal_units(text: str, per: int) -> int | None:
    try:
        amount = Decimal(text) * per
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        return None
    if amount != amount.to_integral_value():
        return None
    return int(amount)


def _task_size(value: object, out: _Collector, path: str, hint: str, unit: re.Pattern[str],
               per_unit: int, whole: str) -> int | None:
    """Task-level cpu or memory: an int, an integer string, or "<n> <unit>" (vCPU, GB)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        out.error(path, f"must be {hint}, got {_show(value)}")
        return None
    if isinstance(value, int):
        return value
    if _INT_RE.fullmatch(value):
        return int(value)
    if m := unit.fullmatch(value):
        amount = _decimal_units(m.group(1), per_unit)
        if amount is None:
            out.error(path, f"must be {whole}, got {_show(value)}")
        return amount
    out.error(path, f"must be {hint}, got {_show(value)}")
    return None


def _task_cpu(value: object, out: _Collector) -> int | None:
    units = _task_size(value, out, "cpu", "CPU units (e.g. \"1024\") or vCPUs (e.g. \"1 vCPU\")",
                       _VCPU_RE, CPU_UNITS_PER_VCPU,
                       "a whole number of CPU units (1 vCPU = 1024)")
    if units is None:
        return None
    low, high = TASK_CPU_RANGE
    if not low <= units <= high:
        out.error("cpu", f"must be between {low} and {high} CPU units, got {_show(value)}")
        return None
    return units


def _task_memory(value: object, out: _Collector) -> int | None:
    mib = _task_size(value, out, "memory", "MiB (e.g. \"512\") or GB (e.g. \"2 GB\")",
                     _GB_RE, MIB_PER_GB, "a whole number of MiB (1 GB = 1024 MiB)")
    if mib is None:
        return None
    if mib < MIN_CONTAINER_MEMORY_MIB:
        out.error("memory", f"must be at least {MIN_CONTAINER_MEMORY_MIB} MiB, got {_show(value)}")
        return None
    return mib


# --------------------------------------------------------------------------------------------
# Parsing.


def _parse_port_mapping(
    obj: object, path: str, network_mode: str | None, out: _Collector
) -> PortMapping | None:
    if not _check_kind(obj, "object", path, out):
        return None
    assert isinstance(obj, dict)
    errors_before = len(out.errors)
    _walk_known_fields(
        obj, _PORT_MAPPING_FIELD_KINDS, _SUPPORTED_PORT_MAPPING_FIELDS, path, out, "a port mapping"
    )
    if "containerPort" not in obj:
        hint = " (Skiff does not support containerPortRange)" if "containerPortRange" in obj else ""
        out.error(_join(path, "containerPort"), f"is required{hint}")
        container_port = None
    else:
        container_port = _int_field(obj, "containerPort", path, out, minimum=1, maximum=65535)
    host_port = _int_field(obj, "hostPort", path, out, minimum=0, maximum=65535)
    protocol = "tcp"
    if "protocol" in obj:
        proto_path = _join(path, "protocol")
        if _check_kind(obj["protocol"], "string", proto_path, out):
            if obj["protocol"] in PROTOCOLS:
                protocol = obj["protocol"]
            else:
                out.error(proto_path, f"must be one of tcp, udp, got {_show(obj['protocol'])}")
    if len(out.errors) != errors_before or container_port is None:
        return None
    if network_mode == "host":
        if host_port is None:
            host_port = container_port
        elif host_port != container_port:
            out.error(
                _join(path, "hostPort"),
                "in host network mode must be absent or equal to containerPort "
                f"({container_port}), got {host_port}",
            )
            return None
    elif host_port is None:
        host_port = 0
    return PortMapping(container_port=container_port, host_port=host_port, protocol=protocol)


def _name_value_pairs(
    value: object, path: str, out: _Collector, field_kinds: Mapping[str, str], what: str,
    parse_entry: Callable[[dict, str], tuple[str, str] | None],
) -> tuple[tuple[str, str], ...] | None:
    """A list of objects, each checked against `field_kinds` and turned into a (name, value)
    pair by `parse_entry(entry, entry_path)`; None when any entry had a problem (reported)."""
    if not _check_kind(value, "list", path, out):
        return None
    pairs: list[tuple[str, str]] = []
    ok = True
    for i, entry in enumerate(value):
        entry_path = f"{path}[{i}]"
        if not _check_kind(entry, "object", entry_path, out):
            ok = False
            continue
        before = len(out.errors)
        _walk_known_fields(entry, field_kinds, frozenset(field_kinds), entry_path, out, what)
        pair = parse_entry(entry, entry_path)
        if len(out.errors) != before or pair is None:
            ok = False
            continue
        pairs.append(pair)
    return tuple(pairs) if ok else None


def _parse_environment(value: object, path: str, out: _Collector) -> tuple[tuple[str, str], ...] | None:
    def entry_pair(entry: dict, entry_path: str) -> tuple[str, str] | None:
        name = entry.get("name")
        if "name" not in entry:
            out.error(_join(entry_path, "name"), "is required")
        elif _check_kind(name, "string", _join(entry_path, "name"), out) and not name:
            out.error(_join(entry_path, "name"), "must not be empty")
        env_value = entry.get("value", "")
        _check_kind(env_value, "string", _join(entry_path, "value"), out)
        return (name, env_value)  # type: ignore[return-value]  # str once no error was added

    return _name_value_pairs(value, path, out, _KEY_VALUE_PAIR_FIELD_KINDS,
                             "an environment entry", entry_pair)


def _secret_name(value: object, path: str, out: _Collector) -> str | None:
    """The secret a `valueFrom`/`credentialsParameter` names (a name or an ARN)."""
    if not _check_kind(value, "string", path, out):
        return None
    name, problem = secret_reference(value)
    if problem:
        out.error(path, problem)
        return None
    return name


def _parse_secrets(
    value: object, path: str, environment: tuple[tuple[str, str], ...], out: _Collector
) -> tuple[tuple[str, str], ...] | None:
    """ECS's `secrets`: [{"name": ENV_VAR, "valueFrom": secret}], each variable once."""
    seen = {name for name, _ in environment}

    def entry_pair(entry: dict, entry_path: str) -> tuple[str, str] | None:
        name = entry.get("name")
        if "name" not in entry:
            out.error(_join(entry_path, "name"), "is required")
        elif _check_kind(name, "string", _join(entry_path, "name"), out):
            if not name or "=" in name or "\0" in name:
                out.error(_join(entry_path, "name"), f"must be an environment variable name "
                                                     f"(not empty, no '='), got {_show(name)}")
            elif name in seen:
                out.error(_join(entry_path, "name"), f"{name} is set twice (in environment or "
                                                     f"secrets)")
            seen.add(name)
        if "valueFrom" not in entry:
            out.error(_join(entry_path, "valueFrom"), "is required")
            return None
        secret = _secret_name(entry["valueFrom"], _join(entry_path, "valueFrom"), out)
        return None if secret is None else (name, secret)  # type: ignore[return-value]

    return _name_value_pairs(value, path, out, _SECRET_FIELD_KINDS, "a secret", entry_pair)


def _parse_repository_credentials(value: object, path: str, out: _Collector) -> str | None:
    """ECS's `repositoryCredentials`: {"credentialsParameter": secret}."""
    if not _check_kind(value, "object", path, out):
        return None
    _walk_known_fields(value, _REPOSITORY_CREDENTIALS_FIELD_KINDS,
                       frozenset(_REPOSITORY_CREDENTIALS_FIELD_KINDS), path, out,
                       "repositoryCredentials")
    if "credentialsParameter" not in value:
        out.error(_join(path, "credentialsParameter"), "is required")
        return None
    return _secret_name(value["credentialsParameter"], _join(path, "credentialsParameter"), out)


def _parse_docker_labels(value: object, path: str, out: _Collector) -> tuple[tuple[str, str], ...] | None:
    if not _check_kind(value, "object", path, out):
        return None
    ok = True
    for key, label in value.items():
        label_path = f"{path}[{json.dumps(key)}]"
        if not key:
            out.error(label_path, "label name must not be empty")
            ok = False
        if not isinstance(label, str):
            out.error(label_path, f"must be a string, got {_show(label)}")
            ok = False
    return tuple(value.items()) if ok else None


def _parse_linux_parameters(value: object, path: str, out: _Collector) -> bool | None:
    """initProcessEnabled (False when absent); other known sub-fields are reported as ignored."""
    if not _check_kind(value, "object", path, out):
        return None
    applied = _walk_known_fields(
        value,
        _LINUX_PARAMETERS_FIELD_KINDS,
        _SUPPORTED_LINUX_PARAMETERS_FIELDS,
        path,
        out,
        "linuxParameters",
    )
    if "initProcessEnabled" in applied:
        flag = applied["initProcessEnabled"]
        if _check_kind(flag, "boolean", _join(path, "initProcessEnabled"), out):
            return flag
        return None
    return False


def _ranged(
    obj: Mapping[str, Any], key: str, path: str, out: _Collector, limits: tuple[int, int, int], unit: str
) -> int | None:
    """obj[key] within limits (min, max, default); the default when absent; None when invalid."""
    if key not in obj:
        return limits[2]
    return _int_field(obj, key, path, out, minimum=limits[0], maximum=limits[1], unit=unit)


def _parse_health_check(value: object, path: str, out: _Collector) -> HealthCheck | None:
    if not _check_kind(value, "object", path, out):
        return None
    before = len(out.errors)
    _walk_known_fields(
        value,
        _HEALTH_CHECK_FIELD_KINDS,
        frozenset(_HEALTH_CHECK_FIELD_KINDS),
        path,
        out,
        "a health check",
    )
    if len(out.errors) != before:
        return None
    assert isinstance(value, dict)
    command_path = _join(path, "command")
    command: tuple[str, ...] | None = None
    if "command" not in value:
        out.error(command_path, "is required")
    else:
        command = _string_list(value["command"], command_path, out)
        if command is not None:
            if not command or command[0] not in HEALTH_CHECK_KINDS:
                first = _show(command[0]) if command else "an empty list"
                hint = " (Docker's NONE disables a check; leave healthCheck out instead)" if (
                    command and command[0] == "NONE") else ""
                out.error(command_path, f"must start with CMD or CMD-SHELL, got {first}{hint}")
                command = None
            elif not any(part.strip() for part in command[1:]):
                out.error(command_path, f"must give a command after {command[0]}")
                command = None
    interval = _ranged(value, "interval", path, out, HEALTH_CHECK_INTERVAL, "seconds")
    timeout = _ranged(value, "timeout", path, out, HEALTH_CHECK_TIMEOUT, "seconds")
    retries = _ranged(value, "retries", path, out, HEALTH_CHECK_RETRIES, "")
    start_period = _ranged(value, "startPeriod", path, out, HEALTH_CHECK_START_PERIOD, "seconds")
    if len(out.errors) != before or command is None:
        return None
    return HealthCheck(command=command, interval=interval, timeout=timeout,  # type: ignore[arg-type]
                       retries=retries, start_period=start_period)  # type: ignore[arg-type]


def _parse_depends_on(
    value: object, path: str, own_name: object, out: _Collector
) -> tuple[ContainerDependency, ...] | None:
    """The entries' own shape; references to other containers are checked task-wide."""
    if not _check_kind(value, "list", path, out):
        return None
    dependencies: list[ContainerDependency] = []
    seen: dict[str, int] = {}
    ok = True
    for i, entry in enumerate(value):
        entry_path = f"{path}[{i}]"
        if not _check_kind(entry, "object", entry_path, out):
            ok = False
            continue
        before = len(out.errors)
        _walk_known_fields(
            entry,
            _CONTAINER_DEPENDENCY_FIELD_KINDS,
            frozenset(_CONTAINER_DEPENDENCY_FIELD_KINDS),
            entry_path,
            out,
            "a container dependency",
        )
        name, condition = entry.get("containerName"), entry.get("condition")
        name_path, condition_path = _join(entry_path, "containerName"), _join(entry_path, "condition")
        if "containerName" not in entry:
            out.error(name_path, "is required")
        elif _check_kind(name, "string", name_path, out):
            if name == own_name:
                out.error(name_path, f"a container cannot depend on itself ({name!r})")
            elif name in seen:
                out.error(name_path, f"duplicate dependency on {name!r} (also {path}[{seen[name]}])")
            else:
                seen[name] = i
        if "condition" not in entry:
            out.error(condition_path, "is required")
        elif _check_kind(condition, "string", condition_path, out) and condition not in DEPENDENCY_CONDITIONS:
            out.error(condition_path, f"must be one of {', '.join(DEPENDENCY_CONDITIONS)}, got {_show(condition)}")
        if len(out.errors) != before:
            ok = False
            continue
        dependencies.append(ContainerDependency(container_name=name, condition=condition))  # type: ignore[arg-type]
    return tuple(dependencies) if ok else None


def _parse_restart_policy(value: object, path: str, out: _Collector) -> RestartPolicy | None:
    if not _check_kind(value, "object", path, out):
        return None
    before = len(out.errors)
    _walk_known_fields(
        value,
        _RESTART_POLICY_FIELD_KINDS,
        frozenset(_RESTART_POLICY_FIELD_KINDS),
        path,
        out,
        "a restart policy",
    )
    if len(out.errors) != before:
        return None
    assert isinstance(value, dict)
    enabled_path = _join(path, "enabled")
    enabled = None
    if "enabled" not in value:
        out.error(enabled_path, "is required")
    elif _check_kind(value["enabled"], "boolean", enabled_path, out):
        enabled = value["enabled"]
    codes: list[int] = []
    if "ignoredExitCodes" in value:
        codes_path = _join(path, "ignoredExitCodes")
        codes_value = value["ignoredExitCodes"]
        if _check_kind(codes_value, "list", codes_path, out):
            if len(codes_value) > MAX_IGNORED_EXIT_CODES:
                out.error(codes_path, f"must list at most {MAX_IGNORED_EXIT_CODES} exit codes, "
                                      f"got {len(codes_value)}")
            for i, code in enumerate(codes_value):
                if _check_kind(code, "integer", f"{codes_path}[{i}]", out):
                    codes.append(code)
    period = _ranged(value, "restartAttemptPeriod", path, out, RESTART_ATTEMPT_PERIOD, "seconds")
    if len(out.errors) != before or enabled is None:
        return None
    return RestartPolicy(enabled=enabled, ignored_exit_codes=tuple(codes),
                         restart_attempt_period=period)  # type: ignore[arg-type]


def _parse_container(
    obj: object, path: str, network_mode: str | None, task_memory_given: bool, out: _Collector
) -> ContainerDefinition | None:
    if not _check_kind(obj, "object", path, out):
        return None
    assert isinstance(obj, dict)
    before = len(out.errors)
    ignored_before = len(out.ignored)
    applied = _walk_known_fields(
        obj, _CONTAINER_FIELD_KINDS, _SUPPORTED_CONTAINER_FIELDS, path, out, "a container definition"
    )
    p = lambda key: _join(path, key)  # noqa: E731

    name = applied.get("name")
    if "name" not in applied:
        out.error(p("name"), "is required")
    elif _check_kind(name, "string", p("name"), out) and not _NAME_RE.fullmatch(name):
        out.error(
            p("name"),
            f"must be 1-255 letters, digits, hyphens or underscores, got {_show(name)}",
        )

    image = applied.get("image")
    if "image" not in applied:
        out.error(p("image"), "is required")
    elif _check_kind(image, "string", p("image"), out):
        problem = _image_problem(image)
        if problem:
            out.error(p("image"), problem)

    cpu = _int_field(applied, "cpu", path, out, minimum=0, unit="CPU units")
    memory = _int_field(applied, "memory", path, out, minimum=MIN_CONTAINER_MEMORY_MIB, unit="MiB")
    reservation = _int_field(applied, "memoryReservation", path, out, minimum=1, unit="MiB")
    if memory is not None and reservation is not None and reservation > memory:
        out.error(p("memoryReservation"), f"must not exceed memory ({memory} MiB), got {reservation}")
    if (
        not task_memory_given
        and "memory" not in applied
        and "memoryReservation" not in applied
    ):
        out.error(
            p("memory"),
            "memory or memoryReservation is required when the task-level memory is not set "
            "(as in ECS with the EC2 launch type)",
        )

    essential = True
    if "essential" in applied and _check_kind(applied["essential"], "boolean", p("essential"), out):
        essential = applied["essential"]

    command = _string_list(applied["command"], p("command"), out) if "command" in applied else ()
    entry_point = (
        _string_list(applied["entryPoint"], p("entryPoint"), out) if "entryPoint" in applied else ()
    )
    environment = (
        _parse_environment(applied["environment"], p("environment"), out)
        if "environment" in applied
        else ()
    )

    port_mappings: list[PortMapping] = []
    if "portMappings" in applied and _check_kind(applied["portMappings"], "list", p("portMappings"), out):
        for i, pm in enumerate(applied["portMappings"]):
            parsed = _parse_port_mapping(pm, f"{p('portMappings')}[{i}]", network_mode, out)
            if parsed is not None:
                port_mappings.append(parsed)

    working_directory = None
    if "workingDirectory" in applied and _check_kind(
        applied["workingDirectory"], "string", p("workingDirectory"), out
    ):
        working_directory = applied["workingDirectory"]

    docker_labels = (
        _parse_docker_labels(applied["dockerLabels"], p("dockerLabels"), out)
        if "dockerLabels" in applied
        else ()
    )
    init_process = (
        _parse_linux_parameters(applied["linuxParameters"], p("linuxParameters"), out)
        if "linuxParameters" in applied
        else False
    )
    health_check = (
        _parse_health_check(applied["healthCheck"], p("healthCheck"), out) if "healthCheck" in applied else None
    )
    depends_on = (
        _parse_depends_on(applied["dependsOn"], p("dependsOn"), name, out) if "dependsOn" in applied else ()
    )
    stop_timeout = _int_field(
        applied, "stopTimeout", path, out, minimum=STOP_TIMEOUT_RANGE[0], maximum=STOP_TIMEOUT_RANGE[1],
        unit="seconds",
    )
    restart_policy = (
        _parse_restart_policy(applied["restartPolicy"], p("restartPolicy"), out)
        if "restartPolicy" in applied
        else None
    )
    secrets = (
        _parse_secrets(applied["secrets"], p("secrets"), environment or (), out)
        if "secrets" in applied
        else ()
    )
    repository_credentials = (
        _parse_repository_credentials(applied["repositoryCredentials"], p("repositoryCredentials"), out)
        if "repositoryCredentials" in applied
        else None
    )

    # Report this container's ignored fields in document order (nested ones were found later).
    order = {key: i for i, key in enumerate(obj)}
    prefix = len(path) + 1

    def position(ignored_path: str) -> int:
        return order.get(re.split(r"[.\[]", ignored_path[prefix:], maxsplit=1)[0], len(order))

    out.ignored[ignored_before:] = sorted(out.ignored[ignored_before:], key=position)

    if len(out.errors) != before:
        return None
    return ContainerDefinition(
        name=name,  # type: ignore[arg-type]  # str: no errors
        image=image,  # type: ignore[arg-type]  # str: no errors
        cpu=cpu if cpu is not None else 0,
        memory=memory,
        memory_reservation=reservation,
        essential=essential,
        command=command or (),
        entry_point=entry_point or (),
        environment=environment or (),
        port_mappings=tuple(port_mappings),
        working_directory=working_directory,
        docker_labels=docker_labels or (),
        init_process_enabled=bool(init_process),
        health_check=health_check,
        depends_on=depends_on or (),
        stop_timeout=stop_timeout,
        restart_policy=restart_policy,
        secrets=secrets or (),
        repository_credentials=repository_credentials,
    )


def parse_task_definition(document: object) -> TaskDefinitionSpec:
    """Validate an ECS RegisterTaskDefinition document and return the applied model.

    Raises :class:`TaskDefinitionError` listing every problem found (nothing is partially applied).
    """
    out = _Collector()
    if not isinstance(document, dict):
        out.error(_ROOT_PATH, f"must be a JSON object (a task definition), got {_show(document)}")
        raise TaskDefinitionError(out.errors)

    # Network mode first: port mappings depend on it. None = unknown (invalid value).
    network_mode: str | None = "bridge"
    if "networkMode" in document:
        mode = document["networkMode"]
        if not _check_kind(mode, "string", "networkMode", out):
            network_mode = None
        elif mode in SUPPORTED_NETWORK_MODES:
            network_mode = mode
        elif mode in ECS_NETWORK_MODES:
            out.error(
                "networkMode",
                f"Skiff does not support network mode {mode!r} (supported: bridge, host)",
            )
            network_mode = None
        else:
            out.error("networkMode", f"must be one of {', '.join(ECS_NETWORK_MODES)}, got {_show(mode)}")
            network_mode = None

    family = document.get("family")
    if "family" not in document:
        out.error("family", "is required")
    elif _check_kind(family, "string", "family", out) and not _NAME_RE.fullmatch(family):
        out.error("family", f"must be 1-255 letters, digits, hyphens or underscores, got {_show(family)}")

    task_cpu = _task_cpu(document["cpu"], out) if "cpu" in document else None
    task_memory = _task_memory(document["memory"], out) if "memory" in document else None

    containers: list[tuple[int, ContainerDefinition]] = []  # (index in the document, container)
    containers_ok = False
    placement_constraints: tuple = ()
    for key, value in document.items():
        if key not in ECS_TASK_DEFINITION_FIELDS:
            _unknown_field(key, ECS_TASK_DEFINITION_FIELDS, "", out, "a task definition")
        elif key not in _SUPPORTED_TASK_FIELDS:
            if _check_kind(value, _TASK_FIELD_KINDS[key], key, out):
                out.ignore(key, value)
        elif key == "containerDefinitions":
            containers_ok = _parse_containers(
                value, network_mode, "memory" in document, containers, out
            )
        elif key == "placementConstraints":
            placement_constraints = _placement_constraints(value, out)

    if "containerDefinitions" not in document:
        out.error("containerDefinitions", "is required")

    # Also run on a partial list (so every problem is reported): a sum over some of the
    # containers that already exceeds the task-level value is a true error.
    _check_task_wide(containers, task_cpu, task_memory, out)
    _check_dependencies(document.get("containerDefinitions"), containers, out)
    if containers_ok and not any(c.essential for _, c in containers):
        out.error("containerDefinitions", "at least one container must be essential")

    if out.errors:
        raise TaskDefinitionError(out.errors)
    return TaskDefinitionSpec(
        family=family,  # type: ignore[arg-type]  # str: no errors
        containers=tuple(c for _, c in containers),
        network_mode=network_mode or "bridge",
        cpu=task_cpu,
        memory=task_memory,
        ignored_fields=tuple(out.ignored),
        raw_document=copy.deepcopy(document),
        placement_constraints=placement_constraints,
    )


def _placement_constraints(value: object, out) -> tuple:
    """memberOf constraints every task of this definition must meet (ECS allows no
    distinctInstance here); a bad expression is reported with its position."""
    from controlplane.scheduler import PlacementError, parse_constraints

    if not _check_kind(value, "list", "placementConstraints", out):
        return ()
    try:
        return parse_constraints(value, allow_distinct_instance=False)
    except PlacementError as exc:
        out.error(exc.field, exc.detail)
        return ()


def _parse_containers(
    value: object,
    network_mode: str | None,
    task_memory_given: bool,
    containers: list[tuple[int, ContainerDefinition]],
    out: _Collector,
) -> bool:
    """Parse containerDefinitions into ``containers``; True when every one of them is valid."""
    path = "containerDefinitions"
    if not _check_kind(value, "list", path, out):
        return False
    assert isinstance(value, list)
    if not value:
        out.error(path, "must contain at least one container definition")
        return False
    ok = True
    if len(value) > MAX_CONTAINERS:
        out.error(path, f"must contain at most {MAX_CONTAINERS} container definitions, got {len(value)}")
        ok = False
    seen_names: dict[str, int] = {}
    # Only the first ones past the limit are checked too: 10,000 containers' problems would
    # make an answer no one reads.
    for i, obj in enumerate(value[:MAX_CONTAINERS + 1]):
        item_path = f"{path}[{i}]"
        container = _parse_container(obj, item_path, network_mode, task_memory_given, out)
        name = obj.get("name") if isinstance(obj, dict) else None
        if isinstance(name, str) and name:
            if name in seen_names:
                out.error(
                    f"{item_path}.name",
                    f"duplicate container name {name!r} (also {path}[{seen_names[name]}])",
                )
                ok = False
            else:
                seen_names[name] = i
        if container is None:
            ok = False
        else:
            containers.append((i, container))
    return ok


def _check_task_wide(
    containers: list[tuple[int, ContainerDefinition]], task_cpu: int | None, task_memory: int | None, out: _Collector
) -> None:
    """Checks across containers: host ports, sums against task-level cpu/memory."""
    taken: dict[tuple[int, str], str] = {}
    for ci, container in containers:
        for pi, pm in enumerate(container.port_mappings):
            if pm.host_port == 0:
                continue
            key = (pm.host_port, pm.protocol)
            here = f"containerDefinitions[{ci}].portMappings[{pi}]"
            if key in taken:
                out.error(
                    f"{here}.hostPort",
                    f"host port {pm.host_port}/{pm.protocol} is already mapped by {taken[key]}",
                )
            else:
                taken[key] = here

    if task_cpu is not None:
        total_cpu = sum(c.cpu for _, c in containers)
        if total_cpu > task_cpu:
            out.error(
                "cpu",
                f"the containers reserve {total_cpu} CPU units in total, more than the task-level "
                f"cpu ({task_cpu})",
            )
    if task_memory is not None:
        over_limit = False  # a container's own limit above the task's already says it all
        for ci, container in containers:
            if container.memory is not None and container.memory > task_memory:
                over_limit = True
                out.error(
                    f"containerDefinitions[{ci}].memory",
                    f"must not exceed the task-level memory ({task_memory} MiB), got {container.memory}",
                )
        total_memory = sum(c.reserved_memory for _, c in containers)
        if total_memory > task_memory and not over_limit:
            out.error(
                "memory",
                f"the containers reserve {total_memory} MiB in total, more than the task-level "
                f"memory ({task_memory} MiB)",
            )


def _check_dependencies(
    documents: object, containers: list[tuple[int, ContainerDefinition]], out: _Collector
) -> None:
    """dependsOn across containers: the target exists, its condition can hold, no cycles.

    Targets are looked up among every container named in the document (one that is invalid for
    another reason still exists); conditions and cycles among the valid ones.
    """
    named = {
        obj["name"]
        for obj in (documents if isinstance(documents, list) else [])
        if isinstance(obj, dict) and isinstance(obj.get("name"), str)
    }
    valid = {c.name: c for _, c in containers}
    edges: dict[str, list[tuple[str, str]]] = {}  # name -> [(target, path of the entry)]
    for ci, container in containers:
        for di, dep in enumerate(container.depends_on):
            here = f"containerDefinitions[{ci}].dependsOn[{di}]"
            target = valid.get(dep.container_name)
            if dep.container_name not in named:
                out.error(
                    f"{here}.containerName",
                    f"no container named {dep.container_name!r} in this task definition",
                )
                continue
            if target is None:
                continue  # invalid itself; its own errors say why
            if dep.condition in ("COMPLETE", "SUCCESS") and target.essential:
                out.error(
                    f"{here}.condition",
                    f"{dep.condition} cannot be used on an essential container ({target.name!r}): "
                    "its exit stops the task",
                )
                continue
            if dep.condition == "HEALTHY" and target.health_check is None:
                out.error(f"{here}.condition", f"HEALTHY needs a healthCheck on container {target.name!r}")
                continue
            edges.setdefault(container.name, []).append((dep.container_name, here))

    # Cycles: depth-first search; each cycle is reported once, at the entry that closes it.
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target, here in edges.get(name, []):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                out.error(here, f"dependency cycle: {' -> '.join(cycle)}")
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for _, container in containers:
        if container.name not in state:
            visit(container.name)
