"""Placement on the command line: `task run` options, `task start`, `task why`, instance
attributes and draining, `debug snapshot`, and `sim` (the placement engine on a synthetic or
recorded cluster)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from skiff import ecs_json
from skiff.clikit import Api, api_command, fail, print_json, print_run, print_table
from skiffapi.v1 import controlplane_pb2 as pb


def constraint_messages(texts: tuple[str, ...]) -> list[pb.PlacementConstraint]:
    """`distinctInstance` or `memberOf:<expression>` (validated by the control plane)."""
    messages = []
    for text in texts:
        kind, _, expression = text.partition(":")
        messages.append(pb.PlacementConstraint(type=kind.strip(), expression=expression.strip()))
    return messages


def strategy_messages(texts: tuple[str, ...]) -> list[pb.PlacementStrategy]:
    """`binpack:memory`, `spread:attribute:zone`, `random`; a comma makes a chain."""
    messages = []
    for text in texts:
        for part in text.split(","):
            kind, _, field = part.strip().partition(":")
            messages.append(pb.PlacementStrategy(type=kind, field=field))
    return messages


placement_options = [
    click.option("--constraint", "constraints", multiple=True,
                 help="distinctInstance | memberOf:<expression> (repeatable)."),
    click.option("--strategy", "strategies", multiple=True,
                 help="binpack:cpu|memory, spread:instanceId|attribute:<name>, random "
                      "(repeatable, in order; at most 5)."),
]


def with_placement(fn):
    for option in reversed(placement_options):
        fn = option(fn)
    return fn


def add_placement_commands(cli: click.Group, task: click.Group, node: click.Group) -> None:
    """Attach the placement commands to the `skiff`, `skiff task` and `skiff node` groups."""
    task.add_command(task_start)
    task.add_command(task_why)
    node.add_command(node_drain)
    node.add_command(node_activate)
    node.add_command(attr)
    cli.add_command(debug)
    cli.add_command(sim)


@click.command("start")
@click.argument("reference")
@click.option("--instance", "instances", multiple=True, required=True,
              help="Container instance id (repeatable: one task on each).")
@click.option("--cluster", default="default", show_default=True)
@click.option("--group", default="")
@api_command
def task_start(api: Api, reference: str, instances: tuple[str, ...], cluster: str, group: str,
               as_json: bool) -> None:
    """Start FAMILY[:REVISION] on the named instances (ECS StartTask)."""
    response = api.StartTask(pb.StartTaskRequest(cluster=cluster, task_definition=reference,
                                                 container_instances=instances, group=group))
    print_run(response, as_json)


@click.command("why")
@click.argument("task_id")
@click.option("--cluster", default="default", show_default=True)
@api_command
def task_why(api: Api, task_id: str, cluster: str, as_json: bool) -> None:
    """Explain a task's placement: every filter and strategy score, on every instance."""
    response = api.ExplainTask(pb.ExplainTaskRequest(cluster=cluster, task=task_id))
    if as_json:
        return print_json(json.loads(response.explanation_json))
    click.echo(response.text)


def _set_state(api: Api, instance_ids: tuple[str, ...], cluster: str, status: str,
               as_json: bool) -> None:
    response = api.UpdateContainerInstancesState(pb.UpdateContainerInstancesStateRequest(
        cluster=cluster, container_instances=instance_ids, status=status))
    if as_json:
        return print_json({"containerInstances": [ecs_json.container_instance(i)
                                                  for i in response.container_instances],
                           "failures": [ecs_json.failure(f) for f in response.failures]})
    for instance in response.container_instances:
        click.echo(f"{instance.instance_id} {instance.status}")
    if response.failures:
        fail(f"container instance {response.failures[0].arn}: {response.failures[0].reason}")


@click.command("drain")
@click.argument("instance_ids", nargs=-1, required=True)
@click.option("--cluster", default="default", show_default=True)
@api_command
def node_drain(api: Api, instance_ids: tuple[str, ...], cluster: str, as_json: bool) -> None:
    """DRAINING: no new tasks; service tasks move elsewhere; standalone tasks stay."""
    _set_state(api, instance_ids, cluster, "DRAINING", as_json)


@click.command("activate")
@click.argument("instance_ids", nargs=-1, required=True)
@click.option("--cluster", default="default", show_default=True)
@api_command
def node_activate(api: Api, instance_ids: tuple[str, ...], cluster: str, as_json: bool) -> None:
    """ACTIVE again: the instance takes new tasks."""
    _set_state(api, instance_ids, cluster, "ACTIVE", as_json)


@click.group("attr")
def attr() -> None:
    """Custom attributes of container instances (for memberOf and spread)."""


@attr.command("set")
@click.argument("instance_id")
@click.argument("pairs", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.option("--cluster", default="default", show_default=True)
@api_command
def attr_set(api: Api, instance_id: str, pairs: tuple[str, ...], cluster: str,
             as_json: bool) -> None:
    attributes = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            fail(f"attribute {pair!r}: expected NAME=VALUE")
        attributes.append(pb.TargetAttribute(name=name, value=value, target_id=instance_id,
                                              target_type="container-instance"))
    response = api.PutAttributes(pb.PutAttributesRequest(cluster=cluster, attributes=attributes))
    _print_attributes(response.attributes, as_json)


@attr.command("rm")
@click.argument("instance_id")
@click.argument("names", nargs=-1, required=True)
@click.option("--cluster", default="default", show_default=True)
@api_command
def attr_rm(api: Api, instance_id: str, names: tuple[str, ...], cluster: str,
            as_json: bool) -> None:
    response = api.DeleteAttributes(pb.DeleteAttributesRequest(cluster=cluster, attributes=[
        pb.TargetAttribute(name=n, target_id=instance_id, target_type="container-instance")
        for n in names]))
    _print_attributes(response.attributes, as_json)


@attr.command("ls")
@click.option("--cluster", default="default", show_default=True)
@click.option("--name", default="", help="Only this attribute.")
@click.option("--value", default="", help="Only this value.")
@api_command
def attr_ls(api: Api, cluster: str, name: str, value: str, as_json: bool) -> None:
    response = api.ListAttributes(pb.ListAttributesRequest(
        cluster=cluster, target_type="container-instance", attribute_name=name,
        attribute_value=value))
    _print_attributes(response.attributes, as_json)


def _print_attributes(attributes, as_json: bool) -> None:
    if as_json:
        return print_json({"attributes": [{"name": a.name, "value": a.value,
                                           "targetType": a.target_type, "targetId": a.target_id}
                                          for a in attributes]})
    print_table(["INSTANCE", "NAME", "VALUE"], [[a.target_id, a.name, a.value] for a in attributes])


@click.group("debug")
def debug() -> None:
    """Tools for bug reports and study."""


@debug.command("snapshot")
@click.option("--cluster", default="default", show_default=True)
@api_command
def debug_snapshot(api: Api, cluster: str, as_json: bool) -> None:
    """Print the cluster as the scheduler sees it (JSON; `skiff sim --snapshot` reads it)."""
    response = api.ExportSnapshot(pb.ExportSnapshotRequest(cluster=cluster))
    print_json(json.loads(response.snapshot_json))


@click.command("sim")
@click.option("--instances", type=int, default=100, show_default=True,
              help="Synthetic instances (ignored with --snapshot).")
@click.option("--tasks", type=int, default=1000, show_default=True,
              help="Synthetic tasks (ignored with --workload).")
@click.option("--strategy", "strategies", multiple=True,
              help="A strategy chain, e.g. binpack:memory or spread:attribute:zone,binpack:memory; "
                   "repeat to compare chains.")
@click.option("--constraint", "constraints", multiple=True,
              help="distinctInstance | memberOf:<expression> (repeatable).")
@click.option("--snapshot", type=click.Path(exists=True, path_type=Path),
              help="A cluster recorded with `skiff debug snapshot`.")
@click.option("--workload", type=click.Path(exists=True, path_type=Path),
              help="A workload file (task sizes, groups, constraints, arrivals, departures).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sim(instances: int, tasks: int, strategies: tuple[str, ...], constraints: tuple[str, ...],
        snapshot: Path | None, workload: Path | None, seed: int, as_json: bool) -> None:
    """Run the real placement engine on a synthetic or recorded cluster (no services needed)."""
    from controlplane.scheduler import PlacementError, constraint_from_text, strategy_from_text
    from controlplane.scheduler.sim import (SimConfig, run_sim, snapshot_from_dict,
                                            workload_from_dict)

    try:
        config = SimConfig(
            strategies=tuple(strategy_from_text(s, path=f"--strategy[{n}]")
                             for n, s in enumerate(strategies or ("binpack:memory",))),
            constraints=tuple(constraint_from_text(c, path=f"--constraint[{n}]")
                              for n, c in enumerate(constraints)),
            instances=instances, tasks=tasks, seed=seed,
            snapshot=snapshot_from_dict(json.loads(snapshot.read_text())) if snapshot else None,
            workload=workload_from_dict(json.loads(workload.read_text())) if workload else None)
        result = run_sim(config, time.perf_counter)
    except (PlacementError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        return print_json(result)
    runs = result.get("runs", [result])
    keys = ["placed", "refused", "cpu_utilisation", "memory_utilisation", "fragmentation",
            "spread_evenness", "decisions_per_second", "p99_decision_us"]
    print_table(["STRATEGY"] + [k.upper() for k in keys],
                [[run.get("strategy", "")] + [_fmt(run.get(k)) for k in keys] for run in runs])
    click.echo(f"placements digest: {result.get('placements_digest')}")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)
