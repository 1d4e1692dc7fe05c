"""Records to protobuf messages and back: the only place in the control plane (besides the
gRPC edges) that knows the generated `skiff.v1` modules."""

from __future__ import annotations

import json
from typing import cast

from controlplane.errors import InvalidParameter
from controlplane.model import (ARN_PREFIX, Cluster, ContainerInstanceRecord, SecretRecord,
                                ServiceRecord, TaskDefinitionRecord, TaskRecord, UserRecord)
from controlplane.taskdef import TaskDefinitionSpec
from controlplane.types import (ClusterSummary, ContainerReport, ContainerSecrets, Failure,
                               InstanceView)
from skiffapi.v1 import agent_pb2, controlplane_pb2, types_pb2
from skiffcore.status import TaskStatus


def cluster_pb(cluster: Cluster, summary: ClusterSummary | None = None) -> controlplane_pb2.Cluster:
    message = controlplane_pb2.Cluster(cluster_name=cluster.name, cluster_arn=cluster.arn,
                                       status="ACTIVE")
    if summary:
        message.registered_container_instances_count = summary.registered_instances
        message.running_tasks_count = summary.running_tasks
        message.pending_tasks_count = summary.pending_tasks
    return message


def task_definition_pb(record: TaskDefinitionRecord) -> controlplane_pb2.TaskDefinition:
    return controlplane_pb2.TaskDefinition(
        task_definition_arn=record.arn, family=record.family, revision=record.revision,
        status=record.status, document_json=json.dumps(record.document),
        ignored_fields=record.ignored_fields, registered_at_ms=record.registered_at_ms,
        deregistered_at_ms=record.deregistered_at_ms)


def user_pb(user: UserRecord) -> controlplane_pb2.User:
    """A user without its token hash, which no response carries."""
    return controlplane_pb2.User(name=user.name, role=user.role, created_at_ms=user.created_at_ms)


def secret_pb(secret: SecretRecord) -> controlplane_pb2.Secret:
    """A secret's metadata: the sealed value stays in etcd."""
    return controlplane_pb2.Secret(name=secret.name, arn=secret.arn,
                                   description=secret.description,
                                   created_at_ms=secret.created_at_ms,
                                   updated_at_ms=secret.updated_at_ms)


def failure_pb(failure: Failure) -> types_pb2.Failure:
    return types_pb2.Failure(arn=failure.arn, reason=failure.reason, detail=failure.detail)


def binding_pb(binding: dict) -> types_pb2.NetworkBinding:
    return types_pb2.NetworkBinding(bind_ip=binding.get("bind_ip", ""),
                                    container_port=binding["container_port"],
                                    host_port=binding["host_port"],
                                    protocol=binding.get("protocol", "tcp"))


def binding_dict(binding: types_pb2.NetworkBinding) -> dict:
    return {"bind_ip": binding.bind_ip, "container_port": binding.container_port,
            "host_port": binding.host_port, "protocol": binding.protocol or "tcp"}


def task_pb(task: TaskRecord, instance_arn: str = "") -> types_pb2.Task:
    message = types_pb2.Task(
        task_arn=task.arn, task_id=task.task_id, cluster=task.cluster,
        cluster_arn=Cluster(task.cluster).arn, task_definition_arn=task.task_definition_arn,
        container_instance_id=task.instance_id,
        container_instance_arn=instance_arn or
        f"{ARN_PREFIX}:container-instance/{task.cluster}/{task.instance_id}",
        last_status=status_value(task.status), desired_status=status_value(task.desired),
        stop_code=task.stop_code, stopped_reason=task.stopped_reason, cpu=task.cpu,
        memory=task.memory, group=task.group, started_by=task.started_by, launch_type="EC2",
        created_at_ms=task.created_at_ms, started_at_ms=task.started_at_ms,
        stopping_at_ms=task.stopping_at_ms, stopped_at_ms=task.stopped_at_ms,
        version=task.version, health_status=health_value(task.health_status))
    for c in task.containers:
        container = message.containers.add(
            container_arn=f"{ARN_PREFIX}:container/{task.cluster}/{task.task_id}/{c.name}",
            name=c.name, image=c.image, runtime_id=c.runtime_id,
            last_status=int(TaskStatus[c.last_status]), reason=c.reason, essential=c.essential,
            cpu=c.cpu, memory=c.memory, memory_reservation=c.memory_reservation,
            health_status=health_value(c.health_status), restart_count=c.restart_count)
        if c.exit_code is not None:
            container.exit_code = c.exit_code
        container.network_bindings.extend(binding_pb(b) for b in c.network_bindings)
    return message


def resources_pb(cpu: int, memory: int, ports: list[str]) -> list[types_pb2.Resource]:
    return [types_pb2.Resource(name="CPU", type="INTEGER", integer_value=cpu),
            types_pb2.Resource(name="MEMORY", type="INTEGER", integer_value=memory),
            types_pb2.Resource(name="PORTS", type="STRINGSET",
                               string_set_value=sorted(p.split("/")[0] for p in ports
                                                       if p.endswith("/tcp"))),
            types_pb2.Resource(name="PORTS_UDP", type="STRINGSET",
                               string_set_value=sorted(p.split("/")[0] for p in ports
                                                       if p.endswith("/udp")))]


def instance_pb(record: ContainerInstanceRecord, view: InstanceView | None = None
                ) -> types_pb2.ContainerInstance:
    used_ports = [f"{port}/{proto}" for port, proto in sorted(record.used_ports)]
    message = types_pb2.ContainerInstance(
        container_instance_arn=record.arn, instance_id=record.instance_id, cluster=record.cluster,
        name=record.name, status=record.status, agent_version=record.agent_version,
        registered_at_ms=record.registered_at_ms,
        attributes=[types_pb2.Attribute(name=k, value=v) for k, v in sorted(record.attributes.items())],
        registered_resources=resources_pb(record.registered_cpu, record.registered_memory, []),
        remaining_resources=resources_pb(record.remaining_cpu, record.remaining_memory, used_ports))
    if view:
        message.agent_connected = view.agent_connected
        message.running_tasks_count = view.running_tasks
        message.pending_tasks_count = view.pending_tasks
    return message


def resource_value(resources, name: str) -> int:
    return next((r.integer_value for r in resources if r.name == name), 0)


def assignment_pb(task: TaskRecord, spec: TaskDefinitionSpec,
                  secrets: dict[str, ContainerSecrets] | None = None) -> agent_pb2.TaskAssignment:
    """The task as its agent is told it; `secrets` (by container name) only for the task's
    own agent, when it is to start the task."""
    secrets = secrets or {}
    message = agent_pb2.TaskAssignment(task_id=task.task_id, task_arn=task.arn,
                                       desired_status=status_value(task.desired),
                                       last_status=status_value(task.status),
                                       network_mode=spec.network_mode)
    for c in spec.containers:
        container = message.containers.add(
            name=c.name, image=c.image, cpu=c.cpu, memory=c.memory or 0,
            memory_reservation=c.memory_reservation or 0, essential=c.essential,
            command=list(c.command), entry_point=list(c.entry_point),
            environment=[types_pb2.KeyValuePair(name=k, value=v) for k, v in c.environment],
            port_mappings=[types_pb2.PortMapping(container_port=p.container_port,
                                                 host_port=p.host_port, protocol=p.protocol)
                           for p in c.port_mappings],
            working_directory=c.working_directory or "",
            docker_labels=[types_pb2.KeyValuePair(name=k, value=v) for k, v in c.docker_labels],
            init_process_enabled=c.init_process_enabled,
            depends_on=[types_pb2.ContainerDependency(container_name=d.container_name,
                                                      condition=d.condition)
                        for d in c.depends_on],
            stop_timeout=c.stop_timeout or 0)
        if c.health_check is not None:
            check = c.health_check
            container.health_check.CopyFrom(types_pb2.HealthCheck(
                command=list(check.command), interval=check.interval, timeout=check.timeout,
                retries=check.retries, start_period=check.start_period))
        if c.restart_policy is not None:
            policy = c.restart_policy
            container.restart_policy.CopyFrom(types_pb2.ContainerRestartPolicy(
                enabled=policy.enabled, ignored_exit_codes=list(policy.ignored_exit_codes),
                restart_attempt_period=policy.restart_attempt_period))
        given = secrets.get(c.name)
        if given is not None:
            container.secrets.extend(types_pb2.KeyValuePair(name=k, value=v)
                                     for k, v in given.environment)
            if given.registry_login is not None:
                username, password = given.registry_login
                container.repository_credentials.CopyFrom(agent_pb2.RegistryLogin(
                    username=username, password=password))
    return message


def container_report(report: agent_pb2.ContainerReport) -> ContainerReport:
    try:
        status = TaskStatus(report.status or TaskStatus.PENDING)
    except ValueError:
        raise InvalidParameter("containers.status", f"unknown task status {report.status}") from None
    return ContainerReport(
        name=report.name, status=status,
        exit_code=report.exit_code if report.HasField("exit_code") else None,
        reason=report.reason, runtime_id=report.runtime_id,
        network_bindings=tuple(binding_dict(b) for b in report.network_bindings),
        health_status=health_name(report.health_status), restart_count=report.restart_count)


def health_name(value: int) -> str:
    """HEALTH_STATUS_HEALTHY -> HEALTHY (an unknown number reads as UNKNOWN)."""
    try:
        return types_pb2.HealthStatus.Name(value).removeprefix("HEALTH_STATUS_")
    except ValueError:
        return "UNKNOWN"


def health_value(name: str) -> types_pb2.HealthStatus:
    return types_pb2.HealthStatus.Value("HEALTH_STATUS_" + (name or "UNKNOWN"))


def status_value(status: TaskStatus) -> types_pb2.TaskStatus:
    """The wire value of a status: the two enums share their numbers (protoc's stubs type an
    enum field with the enum's class; at run time its values are plain ints)."""
    return cast(types_pb2.TaskStatus, int(status))


def placement_constraints_json(messages) -> list[dict]:
    return [{"type": c.type, **({"expression": c.expression} if c.expression else {})}
            for c in messages]


def placement_strategy_json(messages) -> list[dict]:
    return [{"type": p.type, **({"field": p.field} if p.field else {})} for p in messages]


def deployment_configuration_json(message) -> dict:
    """Only the fields that were set (0 means unset for the percentages)."""
    config: dict = {}
    if message.minimum_healthy_percent or message.maximum_percent:
        config["minimumHealthyPercent"] = message.minimum_healthy_percent
        config["maximumPercent"] = message.maximum_percent or 200
    if message.circuit_breaker_enable or message.circuit_breaker_rollback:
        config["deploymentCircuitBreaker"] = {"enable": message.circuit_breaker_enable,
                                              "rollback": message.circuit_breaker_rollback,
                                              "threshold": message.circuit_breaker_threshold}
    return config


def service_pb(service: ServiceRecord) -> controlplane_pb2.Service:
    return controlplane_pb2.Service(
        service_name=service.name, service_arn=service.arn, cluster_arn=Cluster(service.cluster).arn,
        status=service.status, task_definition=service.task_definition_arn,
        desired_count=service.desired_count,
        running_count=sum(d.running_count for d in service.deployments),
        pending_count=sum(d.pending_count for d in service.deployments),
        scheduling_strategy=service.scheduling_strategy,
        deployment_configuration=controlplane_pb2.DeploymentConfiguration(
            minimum_healthy_percent=service.minimum_healthy_percent,
            maximum_percent=service.maximum_percent,
            circuit_breaker_enable=service.circuit_breaker_enable,
            circuit_breaker_rollback=service.circuit_breaker_rollback,
            circuit_breaker_threshold=service.circuit_breaker_threshold),
        deployments=[controlplane_pb2.Deployment(
            id=d.id, status=d.status, task_definition=d.task_definition_arn,
            desired_count=d.desired_count, pending_count=d.pending_count,
            running_count=d.running_count, failed_tasks=d.failed_tasks,
            rollout_state=d.rollout_state, rollout_state_reason=d.rollout_state_reason,
            created_at_ms=d.created_at_ms, updated_at_ms=d.updated_at_ms)
            for d in service.deployments],
        events=[controlplane_pb2.ServiceEvent(id=e.id, created_at_ms=e.created_at_ms,
                                              message=e.message) for e in service.events],
        placement_constraints=[controlplane_pb2.PlacementConstraint(
            type=c.get("type", ""), expression=c.get("expression", ""))
            for c in service.placement_constraints],
        placement_strategy=[controlplane_pb2.PlacementStrategy(type=p.get("type", ""),
                                                               field=p.get("field", ""))
                            for p in service.placement_strategy],
        created_at_ms=service.created_at_ms,
        healthy_after_seconds=service.healthy_after_ms // 1000)


def target_attribute_pb(name: str, value: str, target: str) -> controlplane_pb2.TargetAttribute:
    return controlplane_pb2.TargetAttribute(name=name, value=value,
                                            target_type="container-instance", target_id=target)
