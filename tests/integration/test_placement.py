"""Placement through the real control plane, against three real agents."""

from __future__ import annotations

import json
from collections import Counter

import grpc
import pytest

from skiffapi.v1 import controlplane_pb2 as pb

pytestmark = pytest.mark.integration

AGENTS = 3


@pytest.fixture(scope="module")
def zoned(stack):
    """Instances with a custom zone attribute: a, b, b. Returns {instance id: zone}."""
    instances = sorted(i.instance_id for i in stack.client.instances())
    zones = dict(zip(instances, ["a", "b", "b"]))
    stack.client.api.PutAttributes(pb.PutAttributesRequest(cluster=stack.client.cluster, attributes=[
        pb.TargetAttribute(name="zone", value=zone, target_id=iid, target_type="container-instance")
        for iid, zone in zones.items()]), timeout=10)
    td = stack.client.register(json.dumps({"family": "placed", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memory": 16, "command": ["sleep", "600"],
         "linuxParameters": {"initProcessEnabled": True}}]}))
    yield zones, f"{td.family}:{td.revision}"
    for task in stack.client.tasks():
        stack.client.stop(task.task_id)


def run(stack, taskdef, count=1, constraints=(), strategies=(), group=""):
    return stack.client.api.RunTask(pb.RunTaskRequest(
        cluster=stack.client.cluster, task_definition=taskdef, count=count, group=group,
        placement_constraints=[pb.PlacementConstraint(type=t, expression=e) for t, e in constraints],
        placement_strategy=[pb.PlacementStrategy(type=t, field=f) for t, f in strategies]),
        timeout=30)


def test_member_of_and_spread(stack, zoned):
    zones, taskdef = zoned
    response = run(stack, taskdef, count=4, constraints=[("memberOf", "attribute:zone == b")],
                   strategies=[("spread", "instanceId")])
    assert not response.failures
    per_instance = Counter(t.container_instance_id for t in response.tasks)
    assert {zones[i] for i in per_instance} == {"b"}
    assert sorted(per_instance.values()) == [2, 2]
    for task in response.tasks:
        stack.client.wait_status(task.task_id, "RUNNING")


def test_distinct_instance_refuses_the_fourth(stack, zoned):
    _, taskdef = zoned
    # distinctInstance counts the group's tasks already there too: use a group of its own.
    response = run(stack, taskdef, count=4, constraints=[("distinctInstance", "")],
                   group="distinct")
    assert len({t.container_instance_id for t in response.tasks}) == 3
    assert len(response.failures) == 1
    assert response.failures[0].detail


def test_refused_task_explains_every_instance(stack, zoned):
    zones, taskdef = zoned
    response = run(stack, taskdef, constraints=[("memberOf", "attribute:zone == c")])
    (failure,) = response.failures
    assert failure.reason == "ATTRIBUTE"
    assert "zone == c" in failure.detail or "3 instances" in failure.detail


def test_why_explains_a_placed_task(stack, zoned):
    _, taskdef = zoned
    (task,) = run(stack, taskdef, strategies=[("binpack", "memory")]).tasks
    explained = stack.client.api.ExplainTask(pb.ExplainTaskRequest(
        cluster=stack.client.cluster, task=task.task_id), timeout=10)
    data = json.loads(explained.explanation_json)
    assert data["chosen"] == task.container_instance_id
    assert len(data["instances"]) == 3
    assert task.container_instance_id in explained.text


def test_start_task_on_a_named_instance(stack, zoned):
    zones, taskdef = zoned
    target = next(i for i, z in zones.items() if z == "a")
    response = stack.client.api.StartTask(pb.StartTaskRequest(
        cluster=stack.client.cluster, task_definition=taskdef, container_instances=[target]),
        timeout=30)
    assert [t.container_instance_id for t in response.tasks] == [target]


def test_bad_expression_names_its_position(stack, zoned):
    _, taskdef = zoned
    with pytest.raises(grpc.RpcError) as error:
        run(stack, taskdef, constraints=[("memberOf", "attribute:zone === b")])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "position" in error.value.details()


def test_attributes_survive_an_agent_restart(stack, zoned):
    zones, _ = zoned
    stack.agents[0].stop()
    stack.agents[0] = stack.start_agent(1)
    stack.client.wait_connected(count=3, timeout=60)
    listed = stack.client.api.ListAttributes(pb.ListAttributesRequest(
        cluster=stack.client.cluster, attribute_name="zone"), timeout=10).attributes
    assert {a.target_id: a.value for a in listed} == zones


def test_task_definition_constraints_apply(stack, zoned):
    zones, _ = zoned
    td = stack.client.register(json.dumps({
        "family": "placed-in-a",
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:zone == a"}],
        "containerDefinitions": [{"name": "main", "image": stack.image, "memory": 16,
                                  "command": ["sleep", "600"],
                                  "linuxParameters": {"initProcessEnabled": True}}]}))
    response = run(stack, f"{td.family}:{td.revision}", count=2)
    assert {zones[t.container_instance_id] for t in response.tasks} == {"a"}
