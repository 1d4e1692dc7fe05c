"""The method → permission table: complete, and applied by role."""

from __future__ import annotations

import pytest

from controlplane import authz
from controlplane.authz import Principal
from skiffapi.v1 import agent_pb2, controlplane_pb2


def all_methods() -> list[str]:
    methods = []
    for module in (controlplane_pb2, agent_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            methods += [f"/{service.full_name}/{m.name}" for m in service.methods]
    return methods


def test_every_method_of_every_service_has_a_rule():
    missing = [m for m in all_methods() if m not in authz.METHOD_PERMISSIONS]
    assert not missing, f"methods without a permission rule: {missing}"


def test_no_rule_for_a_method_that_does_not_exist():
    assert set(authz.METHOD_PERMISSIONS) <= set(all_methods())


def test_a_method_without_a_rule_is_refused():
    with pytest.raises(authz.PermissionDenied, match="no permission rule"):
        authz.authorize(Principal("user", "root", authz.ADMIN), "/skiff.v1.ControlPlane/Nope")


VIEWER = Principal("user", "bob", authz.VIEWER)
OPERATOR = Principal("user", "olga", authz.OPERATOR)
ADMIN = Principal("user", "ada", authz.ADMIN)
AGENT = Principal("agent", "i-1", authz.AGENT)
CP = "/skiff.v1.ControlPlane/"


@pytest.mark.parametrize("principal, method, allowed", [
    (VIEWER, "DescribeTasks", True),
    (VIEWER, "GetTaskLogs", True),
    (VIEWER, "RunTask", False),
    (OPERATOR, "RunTask", True),
    (OPERATOR, "CreateCluster", False),
    (ADMIN, "CreateCluster", True),
    (AGENT, "RunTask", False),
    (AGENT, "DescribeTasks", False),
], ids=lambda v: v if isinstance(v, str) else None)
def test_roles(principal, method, allowed):
    if allowed:
        authz.authorize(principal, CP + method)
    else:
        with pytest.raises(authz.PermissionDenied, match=f"may not {method}"):
            authz.authorize(principal, CP + method)


def test_users_may_not_call_the_agent_service():
    with pytest.raises(authz.PermissionDenied, match="user ada \\(admin\\) may not Heartbeat"):
        authz.authorize(ADMIN, "/skiff.v1.AgentService/Heartbeat")


def test_anonymous_callers_are_told_how_to_log_in():
    with pytest.raises(authz.Unauthenticated, match="skiff login"):
        authz.authorize(authz.NOBODY, CP + "ListClusters")


def test_agent_acts_only_for_its_own_instance():
    authz.require_instance(AGENT, "i-1")
    with pytest.raises(authz.PermissionDenied, match="agent i-1 may not report for instance i-2"):
        authz.require_instance(AGENT, "i-2", "report")
    with pytest.raises(authz.PermissionDenied):
        authz.require_instance(ADMIN, "i-1")
