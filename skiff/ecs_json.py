"""API messages in ECS's JSON response shape, so scripts written for `aws ecs` output read them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from skiffapi.v1 import controlplane_pb2, types_pb2

STATUS_PREFIX = "TASK_STATUS_"


def status_name(value: int) -> str:
    name = types_pb2.TaskStatus.Name(value)
    return name[len(STATUS_PREFIX):] if name != "TASK_STATUS_UNSPECIFIED" else ""


def timestamp(ms: int) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def network_binding(b: types_pb2.NetworkBinding) -> dict[str, Any]:
    return {"bindIP": b.bind_ip, "containerPort": b.container_port, "hostPort": b.host_port,
            "protocol": b.protocol}


def task(t: types_pb2.Task) -> dict[str, Any]:
    containers = []
    for c in t.containers:
        container = _drop_empty({
            "containerArn": c.container_arn, "taskArn": t.task_arn, "name": c.name,
            "image": c.image, "runtimeId": c.runtime_id, "lastStatus": status_name(c.last_status),
            "reason": c.reason, "networkBindings": [network_binding(b) for b in c.network_bindings],
            "cpu": str(c.cpu), "memory": str(c.memory) if c.memory else None,
            "healthStatus": health(c.health_status),
            "memoryReservation": str(c.memory_reservation) if c.memory_reservation else None})
        container["networkBindings"] = container.get("networkBindings", [])
        if c.HasField("exit_code"):
            container["exitCode"] = c.exit_code
        containers.append(container)
    return _drop_empty({
        "taskArn": t.task_arn, "clusterArn": t.cluster_arn,
        "taskDefinitionArn": t.task_definition_arn,
        "containerInstanceArn": t.container_instance_arn,
        "lastStatus": status_name(t.last_status), "desiredStatus": status_name(t.desired_status),
        "cpu": str(t.cpu), "memory": str(t.memory), "containers": containers,
        "group": t.group, "launchType": t.launch_type, "startedBy": t.started_by,
        "createdAt": timestamp(t.created_at_ms), "startedAt": timestamp(t.started_at_ms),
        "stoppingAt": timestamp(t.stopping_at_ms), "stoppedAt": timestamp(t.stopped_at_ms),
        "stopCode": t.stop_code, "stoppedReason": t.stopped_reason, "version": t.version,
        "healthStatus": health(t.health_status)})


def health(value: int) -> str:
    """HEALTH_STATUS_HEALTHY -> HEALTHY; a number this CLI does not know (a newer control
    plane) reads as UNKNOWN rather than failing the command."""
    try:
        return types_pb2.HealthStatus.Name(value).removeprefix("HEALTH_STATUS_")
    except ValueError:
        return "UNKNOWN"


def failure(f: types_pb2.Failure) -> dict[str, Any]:
    return _drop_empty({"arn": f.arn, "reason": f.reason, "detail": f.detail})


def task_definition(td: controlplane_pb2.TaskDefinition) -> dict[str, Any]:
    document = json.loads(td.document_json) if td.document_json else {}
    document.update(_drop_empty({
        "taskDefinitionArn": td.task_definition_arn, "family": td.family,
        "revision": td.revision, "status": td.status,
        "registeredAt": timestamp(td.registered_at_ms),
        "deregisteredAt": timestamp(td.deregistered_at_ms),
        "ignoredFields": list(td.ignored_fields)}))
    return document


def cluster(c: controlplane_pb2.Cluster) -> dict[str, Any]:
    return {"clusterArn": c.cluster_arn, "clusterName": c.cluster_name, "status": c.status,
            "registeredContainerInstancesCount": c.registered_container_instances_count,
            "runningTasksCount": c.running_tasks_count, "pendingTasksCount": c.pending_tasks_count}


def resource(r: types_pb2.Resource) -> dict[str, Any]:
    data: dict[str, Any] = {"name": r.name, "type": r.type}
    if r.type == "STRINGSET":
        data["stringSetValue"] = list(r.string_set_value)
    else:
        data["integerValue"] = r.integer_value
    return data


def container_instance(i: types_pb2.ContainerInstance) -> dict[str, Any]:
    return {
        "containerInstanceArn": i.container_instance_arn, "ec2InstanceId": i.instance_id,
        "status": i.status, "agentConnected": i.agent_connected,
        "registeredResources": [resource(r) for r in i.registered_resources],
        "remainingResources": [resource(r) for r in i.remaining_resources],
        "runningTasksCount": i.running_tasks_count, "pendingTasksCount": i.pending_tasks_count,
        "attributes": [{"name": a.name, "value": a.value} for a in i.attributes],
        "versionInfo": {"agentVersion": i.agent_version},
        "registeredAt": timestamp(i.registered_at_ms), "name": i.name}
