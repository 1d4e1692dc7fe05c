"""The control plane's records, as stored in etcd (JSON) and seen by the resource operations.

Plain dataclasses: only `convert.py` and the gRPC edges know protobuf. Every record read
from the store carries `version` (its etcd mod_revision) so the write that follows can
compare it (design invariant 3).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from controlplane.secretnames import secret_arn
from controlplane.deployments import LIVE_COUNTS, Deployment, ServiceEvent, ServiceSpec, TaskView
from skiffcore.status import HealthStatus, TaskStatus

ARN_PREFIX = "arn:skiff:ecs:local:000000000000"

R = TypeVar("R", bound="Record")


class Record:
    """JSON encoding shared by every stored record; `version` is never stored."""

    version: int

    def encode(self) -> bytes:
        # json's C encoder walks dicts and lists; only our dataclasses reach `_plain`.
        return json.dumps(self, default=_plain, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls: type[R], raw: bytes, version: int) -> R:
        data = json.loads(raw)
        return cls.from_dict(data, version)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any], version: int) -> R:
        return cls(**known_fields(cls, data), version=version)  # type: ignore[call-arg]  # subclasses are dataclasses with a version


def _plain(value: Any) -> dict[str, Any]:
    """A record (or a dataclass inside one) as a dict, without what is never stored: its
    `version`, and a deployment's LIVE_COUNTS."""
    fields = vars(value)
    if "version" in fields:
        return {k: v for k, v in fields.items() if k != "version"}
    if isinstance(value, Deployment):
        return {k: v for k, v in fields.items() if k not in LIVE_COUNTS}
    return fields


def known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Drop keys a newer replica may have added, so records stay readable across upgrades."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class Cluster(Record):
    name: str
    created_at_ms: int = 0
    version: int = 0

    @property
    def arn(self) -> str:
        return f"{ARN_PREFIX}:cluster/{self.name}"


@dataclass
class TaskDefinitionRecord(Record):
    family: str
    revision: int
    document: dict[str, Any]
    ignored_fields: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    registered_at_ms: int = 0
    deregistered_at_ms: int = 0
    version: int = 0

    @property
    def arn(self) -> str:
        return task_definition_arn(self.family, self.revision)


def task_definition_arn(family: str, revision: int) -> str:
    return f"{ARN_PREFIX}:task-definition/{family}:{revision}"


@dataclass
class FamilyRecord(Record):
    """The last revision number handed out for a family (revisions are never reused)."""

    family: str
    last_revision: int = 0
    version: int = 0


@dataclass
class ContainerRecord:
    name: str
    image: str
    essential: bool = True
    cpu: int = 0
    memory: int = 0
    memory_reservation: int = 0
    last_status: str = TaskStatus.PENDING.name
    exit_code: int | None = None
    reason: str = ""
    network_bindings: list[dict[str, Any]] = field(default_factory=list)
    runtime_id: str = ""
    health_status: str = "UNKNOWN"
    restart_count: int = 0


@dataclass
class TaskRecord(Record):
    task_id: str
    cluster: str
    task_definition_arn: str
    instance_id: str
    cpu: int
    memory: int
    containers: list[ContainerRecord]
    last_status: str = TaskStatus.PENDING.name
    desired_status: str = TaskStatus.RUNNING.name
    stop_code: str = ""
    stopped_reason: str = ""
    group: str = ""
    started_by: str = ""
    created_at_ms: int = 0
    started_at_ms: int = 0
    stopping_at_ms: int = 0
    stopped_at_ms: int = 0
    health_status: str = "UNKNOWN"  # of the essential containers with health checks (ECS)
    version: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], version: int) -> "TaskRecord":
        data = dict(data, containers=[ContainerRecord(**known_fields(ContainerRecord, c))
                                     for c in data.get("containers", [])])
        return super().from_dict(data, version)

    def copy(self) -> "TaskRecord":
        """A copy to change: records from the state view are shared and read-only."""
        return dataclasses.replace(self, containers=[
            dataclasses.replace(c, network_bindings=list(c.network_bindings))
            for c in self.containers])

    @property
    def arn(self) -> str:
        return f"{ARN_PREFIX}:task/{self.cluster}/{self.task_id}"

    @property
    def status(self) -> TaskStatus:
        return TaskStatus[self.last_status]

    @property
    def desired(self) -> TaskStatus:
        return TaskStatus[self.desired_status]

    def view(self, instance_draining: bool = False, instance_lost: bool = False,
             has_health_check: bool = False) -> TaskView:
        """The task as the service decisions see it (deployments.TaskView)."""
        return TaskView(self.task_id, self.started_by, self.instance_id, self.status, self.desired,
                        self.started_at_ms, self.stopped_at_ms, self.stop_code,
                        HealthStatus[self.health_status or "UNKNOWN"], has_health_check,
                        instance_draining=instance_draining, instance_lost=instance_lost)


@dataclass
class Reservation:
    """What one task holds on an instance until it is STOPPED."""

    cpu: int
    memory: int
    ports: list[str]  # "80/tcp"
    group: str = ""   # the task's group: placement constraints and spread count by it
    dynamic_ports: int = 0  # host ports Docker picks from the dynamic range


@dataclass
class ContainerInstanceRecord(Record):
    instance_id: str
    cluster: str
    name: str
    registered_cpu: int
    registered_memory: int
    status: str = "ACTIVE"
    attributes: dict[str, str] = field(default_factory=dict)
    agent_version: str = ""
    registered_at_ms: int = 0
    # task id -> what it holds; released when the task is STOPPED (idempotent by task id).
    reservations: dict[str, Reservation] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], version: int) -> "ContainerInstanceRecord":
        data = dict(data, reservations={k: Reservation(**known_fields(Reservation, v))
                                        for k, v in data.get("reservations", {}).items()})
        return super().from_dict(data, version)

    def copy(self) -> "ContainerInstanceRecord":
        """A copy to change: records from the state view are shared and read-only."""
        return dataclasses.replace(self, reservations=dict(self.reservations),
                                   attributes=dict(self.attributes))

    @property
    def arn(self) -> str:
        return f"{ARN_PREFIX}:container-instance/{self.cluster}/{self.instance_id}"

    @property
    def remaining_cpu(self) -> int:
        return self.registered_cpu - sum(r.cpu for r in self.reservations.values())

    @property
    def remaining_memory(self) -> int:
        return self.registered_memory - sum(r.memory for r in self.reservations.values())

    @property
    def used_ports(self) -> frozenset[tuple[int, str]]:
        used = set()
        for reservation in self.reservations.values():
            for port in reservation.ports:
                number, _, protocol = port.partition("/")
                used.add((int(number), protocol))
        return frozenset(used)


@dataclass
class ServiceRecord(ServiceSpec, Record):
    """An ECS service: the decision fields of `ServiceSpec` plus what only the API needs."""

    cluster: str = "default"
    task_definition_arn: str = ""
    # ECS JSON shapes: {"type": "memberOf", "expression": ...}, {"type": "spread", "field": ...}
    placement_constraints: list[dict[str, str]] = field(default_factory=list)
    placement_strategy: list[dict[str, str]] = field(default_factory=list)
    status: str = "ACTIVE"
    created_at_ms: int = 0
    version: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], version: int) -> "ServiceRecord":
        data = dict(data,
                    deployments=[Deployment(**known_fields(Deployment, d))
                                 for d in data.get("deployments", [])],
                    events=[ServiceEvent(**known_fields(ServiceEvent, e))
                            for e in data.get("events", [])])
        return super().from_dict(data, version)

    @property
    def arn(self) -> str:
        return f"{ARN_PREFIX}:service/{self.cluster}/{self.name}"

    @property
    def group(self) -> str:
        return f"service:{self.name}"


@dataclass
class UserRecord(Record):
    """A user of the API; the token itself is never stored, only its sha256."""

    name: str
    role: str
    token_hash: str
    created_at_ms: int = 0
    version: int = 0


@dataclass
class RevokedInstance(Record):
    """Every certificate naming this instance is refused (instance ids are never reused)."""

    instance_id: str
    cluster: str
    revoked_at_ms: int = 0
    version: int = 0


@dataclass
class SealedRecord(Record):
    """A value kept in etcd only sealed (`controlplane.secretbox`): the CA's key, the join
    token. `public` holds what may be read in clear (the CA certificate)."""

    sealed: str
    public: str = ""
    updated_at_ms: int = 0
    version: int = 0


@dataclass
class SecretRecord(Record):
    """A user's secret (`skiff secret put`): its value only sealed, bound to its key
    (`Keys.secret`), so it opens nowhere else; the rest is metadata anyone may read."""

    name: str
    sealed: str
    description: str = ""
    created_at_ms: int = 0
    updated_at_ms: int = 0
    version: int = 0

    def __repr__(self) -> str:  # the sealed value is no secret, but it is long and useless
        return f"SecretRecord(name={self.name!r}, version={self.version})"

    @property
    def arn(self) -> str:
        return secret_arn(self.name)


class Keys:
    """The etcd key layout, in one place: no other module spells a key or a prefix.

    /skiff/v1/clusters/<cluster>
    /skiff/v1/families/<family>                        last revision handed out
    /skiff/v1/taskdefs/<family>/<revision:08d>
    /skiff/v1/tasks/<cluster>/<task id>
    /skiff/v1/instances/<cluster>/<instance id>
    /skiff/v1/sessions/<cluster>/<instance id>        leased: present while the agent heartbeats
    /skiff/v1/services/<cluster>/<service name>
    /skiff/v1/leader                                   leased: the leader's identity (epoch = its revision)
    /skiff/v1/revision-probe/                          never written: reading it returns etcd's revision
    /skiff/v1/security/ca                              the cluster CA: certificate, key sealed
    /skiff/v1/security/join-token                      the node join token, sealed
    /skiff/v1/security/revoked/<instance id>           certificates naming it are refused
    /skiff/v1/users/<name>                             role and token hash
    /skiff/v1/secrets/<name>                           a user's secret, sealed (names may hold '/')

    The plural helpers are prefixes: of one cluster's keys, or, without a cluster, of every
    cluster's.
    """

    ROOT = "/skiff/v1/"

    @staticmethod
    def cluster(name: str) -> str:
        return f"{Keys.ROOT}clusters/{name}"

    @staticmethod
    def clusters() -> str:
        return f"{Keys.ROOT}clusters/"

    @staticmethod
    def family(family: str) -> str:
        return f"{Keys.ROOT}families/{family}"

    @staticmethod
    def taskdef(family: str, revision: int) -> str:
        return f"{Keys.ROOT}taskdefs/{family}/{revision:08d}"

    @staticmethod
    def taskdefs(family: str = "") -> str:
        return f"{Keys.ROOT}taskdefs/{_segment(family)}"

    @staticmethod
    def task(cluster: str, task_id: str) -> str:
        return f"{Keys.ROOT}tasks/{cluster}/{task_id}"

    @staticmethod
    def tasks(cluster: str = "") -> str:
        return f"{Keys.ROOT}tasks/{_segment(cluster)}"

    @staticmethod
    def instance(cluster: str, instance_id: str) -> str:
        return f"{Keys.ROOT}instances/{cluster}/{instance_id}"

    @staticmethod
    def instances(cluster: str = "") -> str:
        return f"{Keys.ROOT}instances/{_segment(cluster)}"

    @staticmethod
    def service(cluster: str, name: str) -> str:
        return f"{Keys.ROOT}services/{cluster}/{name}"

    @staticmethod
    def services(cluster: str = "") -> str:
        return f"{Keys.ROOT}services/{_segment(cluster)}"

    @staticmethod
    def session(cluster: str, instance_id: str) -> str:
        return f"{Keys.ROOT}sessions/{cluster}/{instance_id}"

    @staticmethod
    def sessions(cluster: str = "") -> str:
        return f"{Keys.ROOT}sessions/{_segment(cluster)}"

    @staticmethod
    def leader() -> str:
        return f"{Keys.ROOT}leader"

    @staticmethod
    def ca() -> str:
        return f"{Keys.ROOT}security/ca"

    @staticmethod
    def join_token() -> str:
        return f"{Keys.ROOT}security/join-token"

    @staticmethod
    def revoked(instance_id: str = "") -> str:
        return f"{Keys.ROOT}security/revoked/{instance_id}"

    @staticmethod
    def user(name: str = "") -> str:
        """One user's key; without a name, the prefix of all."""
        return f"{Keys.ROOT}users/{name}"

    @staticmethod
    def secret(name: str = "") -> str:
        """One secret's key; without a name, the prefix of all."""
        return f"{Keys.ROOT}secrets/{name}"

    @staticmethod
    def revision_probe() -> str:
        """A prefix nothing is stored under: a snapshot of it costs nothing but the revision."""
        return f"{Keys.ROOT}revision-probe/"


def _segment(name: str) -> str:
    """`name/` as a key prefix segment; empty for every name."""
    return f"{name}/" if name else ""
