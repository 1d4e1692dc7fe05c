"""Who may call what: one table from every API method to the permission it needs.

Callers are principals. A user acts through a role; each role has the rights of the ones
before it:

    viewer    describe, list, logs, explain
    operator  + task definitions, tasks, services, attributes, drain, secrets
    admin     + users, join tokens, nodes, clusters

An agent holds a certificate naming its container instance and may call AgentService only, and
only for that instance (`require_instance`). A node that is joining holds nothing but the join
token, which the Join method checks itself.

`METHOD_PERMISSIONS` names every method of every gRPC service; `tests/unit/test_authz.py`
enumerates the methods from the service descriptors, so a method added without a row fails the
suite, and `authorize` refuses a method it does not know.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controlplane.errors import PermissionDenied, Unauthenticated

__all__ = ["ADMIN", "AGENT", "ANONYMOUS", "METHOD_PERMISSIONS", "OPERATOR", "ROLES", "VIEWER",
           "PermissionDenied", "Permission", "Principal", "Unauthenticated", "authorize",
           "require_instance"]

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)
AGENT = "agent"
CONTROL_PLANE = "controlplane"  # another control-plane process, passing a read on
ANONYMOUS = "anonymous"


class Permission(enum.Enum):
    READ = "read"            # viewer and up
    OPERATE = "operate"      # operator and up
    ADMINISTER = "admin"     # admin
    AGENT = "agent"          # an agent, for its own instance
    JOIN = "join"            # anyone who reaches the port; the method checks the join token


_ROLE_RIGHTS = {
    VIEWER: {Permission.READ},
    OPERATOR: {Permission.READ, Permission.OPERATE},
    ADMIN: {Permission.READ, Permission.OPERATE, Permission.ADMINISTER},
    AGENT: {Permission.AGENT},
    CONTROL_PLANE: {Permission.READ},
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (`role` viewer|operator|admin), an agent (`name` is its
    instance id), or nobody yet."""

    kind: str   # "user" | "agent" | "controlplane" | "anonymous"
    name: str
    role: str

    def __str__(self) -> str:
        if self.kind == "agent":
            return f"agent {self.name}"
        if self.kind == "user":
            return f"user {self.name} ({self.role})"
        if self.kind == "controlplane":
            return f"control-plane process {self.name}"
        return "an anonymous caller"


NOBODY = Principal("anonymous", "", ANONYMOUS)

_CP = "/skiff.v1.ControlPlane/"
_AGENT = "/skiff.v1.AgentService/"
R, O, A = Permission.READ, Permission.OPERATE, Permission.ADMINISTER  # noqa: E741 (a table key)

METHOD_PERMISSIONS: dict[str, Permission] = {
    # clusters
    _CP + "CreateCluster": A,
    _CP + "ListClusters": R,
    _CP + "DescribeClusters": R,
    # task definitions
    _CP + "RegisterTaskDefinition": O,
    _CP + "DescribeTaskDefinition": R,
    _CP + "ListTaskDefinitions": R,
    _CP + "DeregisterTaskDefinition": O,
    # tasks
    _CP + "RunTask": O,
    _CP + "StartTask": O,
    _CP + "StopTask": O,
    _CP + "DescribeTasks": R,
    _CP + "ListTasks": R,
    _CP + "ExplainTask": R,
    _CP + "GetTaskLogs": R,
    # container instances and attributes
    _CP + "ListContainerInstances": R,
    _CP + "DescribeContainerInstances": R,
    _CP + "UpdateContainerInstancesState": O,   # drain
    _CP + "PutAttributes": O,
    _CP + "DeleteAttributes": O,
    _CP + "ListAttributes": R,
    # services
    _CP + "CreateService": O,
    _CP + "UpdateService": O,
    _CP + "DeleteService": O,
    _CP + "DescribeServices": R,
    _CP + "ListServices": R,
    # the cluster's state for `skiff sim` (instances, tasks, attributes: what viewers see)
    _CP + "ExportSnapshot": R,
    _CP + "DeregisterContainerInstance": A,
    # users, tokens
    _CP + "WhoAmI": R,
    _CP + "CreateUser": A,
    _CP + "ListUsers": A,
    _CP + "DeleteUser": A,
    _CP + "RotateUserToken": A,
    _CP + "GetJoinToken": A,
    # secrets: values go in (operators) and never come out; anyone may read the metadata
    _CP + "PutSecret": O,
    _CP + "DeleteSecret": O,
    _CP + "ListSecrets": R,
    _CP + "DescribeSecret": R,
    # a node joining: the method checks the join token
    "/skiff.v1.JoinService/Join": Permission.JOIN,
    # agents
    _AGENT + "RegisterContainerInstance": Permission.AGENT,
    _AGENT + "Heartbeat": Permission.AGENT,
    _AGENT + "StreamAssignments": Permission.AGENT,
    _AGENT + "ReportTaskStates": Permission.AGENT,
    _AGENT + "StreamCommands": Permission.AGENT,
    _AGENT + "PushLogs": Permission.AGENT,
    _AGENT + "RenewCertificate": Permission.AGENT,
    _AGENT + "GetRegistryCredentials": Permission.AGENT,
}


def authorize(principal: Principal, method: str) -> None:
    """Raise unless `principal` may call `method` (a full gRPC method name)."""
    needed = METHOD_PERMISSIONS.get(method)
    short = method.rsplit("/", 1)[-1]
    if needed is None:
        raise PermissionDenied(f"{short} has no permission rule; refused")
    if needed is Permission.JOIN:
        return
    if principal.kind == "anonymous":
        raise Unauthenticated(f"{short} needs credentials: run `skiff login` (users) or "
                              f"join with a token (agents)")
    if needed not in _ROLE_RIGHTS.get(principal.role, set()):
        raise PermissionDenied(f"{principal} may not {short}")


def require_instance(principal: Principal, instance_id: str, what: str = "act") -> None:
    """An agent acts only for the instance its certificate names."""
    if principal.kind != "agent" or principal.name != instance_id:
        raise PermissionDenied(f"{principal} may not {what} for instance "
                               f"{instance_id or '(none)'}")
