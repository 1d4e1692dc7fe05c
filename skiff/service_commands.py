"""`skiff service ...`: ECS services (keep N tasks running, roll out new revisions)."""

from __future__ import annotations

import click

from skiff import ecs_json
from skiff.clikit import TASK_HEADERS, Api, api_command, fail, print_json, print_table, task_rows
from skiff.placement_commands import constraint_messages, strategy_messages, with_placement
from skiffapi.v1 import controlplane_pb2 as pb


@click.group("service")
def service() -> None:
    """Services: keep a number of tasks running and roll out new revisions."""


def _deployment_config(min_healthy, maximum, circuit_breaker, rollback, failure_threshold):
    return pb.DeploymentConfiguration(
        minimum_healthy_percent=min_healthy if min_healthy is not None else 0,
        maximum_percent=maximum if maximum is not None else 0,
        circuit_breaker_enable=circuit_breaker or rollback or bool(failure_threshold),
        circuit_breaker_rollback=rollback, circuit_breaker_threshold=failure_threshold or 0)


deployment_options = [
    click.option("--min-healthy", type=int, default=None,
                 help="minimumHealthyPercent (default 100; DAEMON 0)."),
    click.option("--max", "maximum", type=int, default=None,
                 help="maximumPercent (default 200; DAEMON 100)."),
    click.option("--circuit-breaker", is_flag=True, help="Fail a deployment whose tasks keep failing."),
    click.option("--rollback", is_flag=True, help="With the circuit breaker: roll back on failure."),
    click.option("--failure-threshold", type=int, default=None,
                 help="Failed tasks that trip the circuit breaker (default: ECS's rule)."),
    click.option("--healthy-after", type=int, default=None,
                 help="Seconds a task without health checks must run to count as healthy "
                      "(default 40)."),
]


def with_deployment_options(fn):
    for option in reversed(deployment_options):
        fn = option(fn)
    return fn


@service.command("create")
@click.argument("name")
@click.option("--taskdef", required=True, help="FAMILY[:REVISION].")
@click.option("--desired", type=int, default=1, show_default=True)
@click.option("--daemon", is_flag=True, help="One task on every instance (DAEMON).")
@click.option("--cluster", default="default", show_default=True)
@with_deployment_options
@with_placement
@api_command
def service_create(api: Api, name: str, taskdef: str, desired: int, daemon: bool, cluster: str,
                   min_healthy, maximum, circuit_breaker, rollback, failure_threshold,
                   healthy_after, constraints, strategies, as_json: bool) -> None:
    request = pb.CreateServiceRequest(
        cluster=cluster, service_name=name, task_definition=taskdef, desired_count=desired,
        scheduling_strategy="DAEMON" if daemon else "REPLICA",
        deployment_configuration=_deployment_config(min_healthy, maximum, circuit_breaker,
                                                    rollback, failure_threshold),
        placement_constraints=constraint_messages(constraints),
        placement_strategy=strategy_messages(strategies))
    if healthy_after is not None:
        request.healthy_after_seconds = healthy_after
    created = api.CreateService(request).service
    _print_service(created, as_json)


@service.command("update")
@click.argument("name")
@click.option("--taskdef", default=None, help="Roll out FAMILY[:REVISION].")
@click.option("--desired", type=int, default=None)
@click.option("--force-new-deployment", is_flag=True, help="Replace every task, same revision.")
@click.option("--cluster", default="default", show_default=True)
@with_deployment_options
@with_placement
@api_command
def service_update(api: Api, name: str, taskdef, desired, force_new_deployment: bool, cluster: str,
                   min_healthy, maximum, circuit_breaker, rollback, failure_threshold,
                   healthy_after, constraints, strategies, as_json: bool) -> None:
    request = pb.UpdateServiceRequest(
        cluster=cluster, service=name, force_new_deployment=force_new_deployment,
        deployment_configuration=_deployment_config(min_healthy, maximum, circuit_breaker,
                                                    rollback, failure_threshold),
        placement_constraints=constraint_messages(constraints),
        placement_strategy=strategy_messages(strategies),
        update_placement=bool(constraints or strategies))
    if taskdef is not None:
        request.task_definition = taskdef
    if desired is not None:
        request.desired_count = desired
    if healthy_after is not None:
        request.healthy_after_seconds = healthy_after
    _print_service(api.UpdateService(request).service, as_json)


@service.command("scale")
@click.argument("name")
@click.argument("desired", type=int)
@click.option("--cluster", default="default", show_default=True)
@api_command
def service_scale(api: Api, name: str, desired: int, cluster: str, as_json: bool) -> None:
    """Set the desired count."""
    updated = api.UpdateService(pb.UpdateServiceRequest(cluster=cluster, service=name,
                                                        desired_count=desired)).service
    _print_service(updated, as_json)


@service.command("rm")
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete without scaling to 0 first.")
@click.option("--cluster", default="default", show_default=True)
@api_command
def service_rm(api: Api, name: str, force: bool, cluster: str, as_json: bool) -> None:
    deleted = api.DeleteService(pb.DeleteServiceRequest(cluster=cluster, service=name,
                                                        force=force)).service
    _print_service(deleted, as_json)


@service.command("ls")
@click.option("--cluster", default="default", show_default=True)
@api_command
def service_ls(api: Api, cluster: str, as_json: bool) -> None:
    arns = api.ListServices(pb.ListServicesRequest(cluster=cluster)).service_arns
    if as_json:
        return print_json({"serviceArns": list(arns)})
    services = api.DescribeServices(pb.DescribeServicesRequest(
        cluster=cluster, services=arns)).services if arns else []
    print_table(["NAME", "STATUS", "TASKDEF", "DESIRED", "RUNNING", "PENDING", "ROLLOUT"],
                [[s.service_name, s.status, s.task_definition.rsplit("/", 1)[-1], s.desired_count,
                  s.running_count, s.pending_count, _primary(s).rollout_state] for s in services])


@service.command("describe")
@click.argument("name")
@click.option("--events", type=int, default=10, show_default=True, help="Newest events to show.")
@click.option("--cluster", default="default", show_default=True)
@api_command
def service_describe(api: Api, name: str, events: int, cluster: str, as_json: bool) -> None:
    response = api.DescribeServices(pb.DescribeServicesRequest(cluster=cluster, services=[name]))
    if as_json:
        return print_json({"services": [service_json(s) for s in response.services],
                           "failures": [ecs_json.failure(f) for f in response.failures]})
    if not response.services:
        fail(f"service {name}: MISSING")
    s = response.services[0]
    click.echo(f"service:   {s.service_arn}\nstatus:    {s.status} ({s.scheduling_strategy})\n"
               f"taskdef:   {s.task_definition.rsplit('/', 1)[-1]}\n"
               f"tasks:     {s.running_count} running, {s.pending_count} pending, "
               f"{s.desired_count} desired\n")
    print_table(["DEPLOYMENT", "STATUS", "TASKDEF", "DESIRED", "RUNNING", "PENDING", "FAILED",
                 "ROLLOUT"],
                [[d.id, d.status, d.task_definition.rsplit("/", 1)[-1], d.desired_count,
                  d.running_count, d.pending_count, d.failed_tasks, d.rollout_state]
                 for d in s.deployments])
    click.echo()
    for event in list(s.events)[:events]:
        click.echo(f"{ecs_json.timestamp(event.created_at_ms)}  {event.message}")


@service.command("ps")
@click.argument("name")
@click.option("--all", "show_all", is_flag=True, help="Stopped tasks too.")
@click.option("--cluster", default="default", show_default=True)
@api_command
def service_ps(api: Api, name: str, show_all: bool, cluster: str, as_json: bool) -> None:
    """The service's tasks."""
    statuses = ["RUNNING", "STOPPED"] if show_all else ["RUNNING"]
    arns = [a for status in statuses for a in api.ListTasks(pb.ListTasksRequest(
        cluster=cluster, desired_status=status)).task_arns]
    tasks = api.DescribeTasks(pb.DescribeTasksRequest(cluster=cluster, tasks=arns)).tasks if arns else []
    mine = [t for t in tasks if t.group == f"service:{name}"]
    if as_json:
        return print_json({"tasks": [ecs_json.task(t) for t in mine]})
    print_table(TASK_HEADERS, task_rows(sorted(mine, key=lambda t: t.created_at_ms)))


def _primary(s: pb.Service) -> pb.Deployment:
    return next((d for d in s.deployments if d.status == "PRIMARY"), pb.Deployment())


def service_json(s: pb.Service) -> dict:
    """ECS DescribeServices' shape."""
    config = s.deployment_configuration
    return {
        "serviceArn": s.service_arn, "serviceName": s.service_name, "clusterArn": s.cluster_arn,
        "status": s.status, "taskDefinition": s.task_definition, "desiredCount": s.desired_count,
        "runningCount": s.running_count, "pendingCount": s.pending_count,
        "launchType": "EC2", "schedulingStrategy": s.scheduling_strategy,
        "deploymentConfiguration": {
            "minimumHealthyPercent": config.minimum_healthy_percent,
            "maximumPercent": config.maximum_percent,
            "deploymentCircuitBreaker": {"enable": config.circuit_breaker_enable,
                                         "rollback": config.circuit_breaker_rollback}},
        "deployments": [{
            "id": d.id, "status": d.status, "taskDefinition": d.task_definition,
            "desiredCount": d.desired_count, "pendingCount": d.pending_count,
            "runningCount": d.running_count, "failedTasks": d.failed_tasks,
            "rolloutState": d.rollout_state, "rolloutStateReason": d.rollout_state_reason,
            "createdAt": ecs_json.timestamp(d.created_at_ms),
            "updatedAt": ecs_json.timestamp(d.updated_at_ms)} for d in s.deployments],
        "events": [{"id": e.id, "createdAt": ecs_json.timestamp(e.created_at_ms),
                    "message": e.message} for e in s.events],
        "placementConstraints": [{"type": c.type, **({"expression": c.expression}
                                                     if c.expression else {})}
                                 for c in s.placement_constraints],
        "placementStrategy": [{"type": p.type, **({"field": p.field} if p.field else {})}
                              for p in s.placement_strategy],
        "createdAt": ecs_json.timestamp(s.created_at_ms),
        "healthyAfterSeconds": s.healthy_after_seconds,
    }


def _print_service(s: pb.Service, as_json: bool) -> None:
    if as_json:
        return print_json({"service": service_json(s)})
    click.echo(f"{s.service_name} {s.status}: {s.desired_count} desired of "
               f"{s.task_definition.rsplit('/', 1)[-1]}")
