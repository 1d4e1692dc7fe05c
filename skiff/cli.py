"""The `skiff` command line (click is imported in the `skiff` package and nowhere else).

Client commands talk gRPC to the control plane at $SKIFF_ENDPOINT (default 127.0.0.1:7070):
human-readable tables by default, `--json` for ECS's response shape. Errors print one line
and exit non-zero. `serve` commands run one component in the foreground; `up`/`down` run the
whole single-machine stack.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

import click

from skiff import ecs_json
from skiff.clikit import (DEFAULT_ENDPOINT, TASK_HEADERS, Api, api_command, bindings_text, fail,
                          print_json, print_run, print_table, task_rows)
from skiff.placement_commands import (add_placement_commands, constraint_messages,
                                      strategy_messages, with_placement)
from skiff.registry_commands import add_registry_commands
from skiff.secret_commands import add_secret_commands
from skiffcore.contexts import ClientConfig, ContextError
from skiff.security_commands import add_security_commands
from skiff.service_commands import service
from skiffapi.v1 import controlplane_pb2 as pb

@click.group()
@click.option("--endpoint", envvar="SKIFF_ENDPOINT", default=None,
              help=f"Control plane address (env SKIFF_ENDPOINT; default: the current context's, "
                   f"or {DEFAULT_ENDPOINT}).")
@click.option("--context", "context_name", envvar="SKIFF_CONTEXT", default=None,
              help="Client context to use (env SKIFF_CONTEXT; see `skiff context ls`).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug output.")
@click.pass_context
def cli(ctx: click.Context, endpoint: str | None, context_name: str | None,
        verbose: bool) -> None:
    """Skiff: a miniature, self-hosted Amazon ECS."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = ClientConfig.load()
        if context_name:
            config.use(context_name)
    except ContextError as exc:
        fail(str(exc))
    ctx.obj = Api(config.resolve(endpoint))


# -- clusters ------------------------------------------------------------------------------

@cli.group()
def cluster() -> None:
    """Clusters (`default` always exists)."""


@cluster.command("create")
@click.argument("name")
@api_command
def cluster_create(api: Api, name: str, as_json: bool) -> None:
    created = api.CreateCluster(pb.CreateClusterRequest(cluster_name=name)).cluster
    print_json({"cluster": ecs_json.cluster(created)}) if as_json else click.echo(created.cluster_arn)


@cluster.command("ls")
@api_command
def cluster_ls(api: Api, as_json: bool) -> None:
    arns = api.ListClusters(pb.ListClustersRequest()).cluster_arns
    if as_json:
        return print_json({"clusterArns": list(arns)})
    clusters = api.DescribeClusters(pb.DescribeClustersRequest(clusters=arns)).clusters
    print_table(["NAME", "STATUS", "INSTANCES", "RUNNING", "PENDING"],
                [[c.cluster_name, c.status, c.registered_container_instances_count,
                  c.running_tasks_count, c.pending_tasks_count] for c in clusters])


# -- task definitions ----------------------------------------------------------------------

@cli.group()
def taskdef() -> None:
    """Task definitions (ECS JSON, `family:revision`)."""


@taskdef.command("register")
@click.argument("file", type=click.File("r"))
@api_command
def taskdef_register(api: Api, file, as_json: bool) -> None:
    """Register FILE (the JSON `aws ecs register-task-definition --cli-input-json` takes)."""
    td = api.RegisterTaskDefinition(
        pb.RegisterTaskDefinitionRequest(task_definition_json=file.read())).task_definition
    if as_json:
        return print_json({"taskDefinition": ecs_json.task_definition(td)})
    click.echo(f"{td.family}:{td.revision}  {td.task_definition_arn}")
    if td.ignored_fields:
        click.echo("accepted but not applied: " + ", ".join(td.ignored_fields))


@taskdef.command("ls")
@click.option("--family-prefix", default="")
@click.option("--status", type=click.Choice(["ACTIVE", "INACTIVE", "ALL"], case_sensitive=False),
              default="ACTIVE", show_default=True)
@api_command
def taskdef_ls(api: Api, family_prefix: str, status: str, as_json: bool) -> None:
    arns = api.ListTaskDefinitions(pb.ListTaskDefinitionsRequest(
        family_prefix=family_prefix, status=status.upper())).task_definition_arns
    if as_json:
        return print_json({"taskDefinitionArns": list(arns)})
    for arn in arns:
        click.echo(arn.rsplit("/", 1)[-1])


@taskdef.command("describe")
@click.argument("reference")
@api_command
def taskdef_describe(api: Api, reference: str, as_json: bool) -> None:
    """Describe FAMILY[:REVISION] (the latest ACTIVE revision without one)."""
    td = api.DescribeTaskDefinition(pb.DescribeTaskDefinitionRequest(task_definition=reference))
    document = ecs_json.task_definition(td.task_definition)
    print_json({"taskDefinition": document} if as_json else document)


@taskdef.command("deregister")
@click.argument("reference")
@api_command
def taskdef_deregister(api: Api, reference: str, as_json: bool) -> None:
    """Mark FAMILY:REVISION INACTIVE: no new tasks run from it."""
    td = api.DeregisterTaskDefinition(
        pb.DeregisterTaskDefinitionRequest(task_definition=reference)).task_definition
    if as_json:
        return print_json({"taskDefinition": ecs_json.task_definition(td)})
    click.echo(f"{td.family}:{td.revision} {td.status}")


# -- tasks ---------------------------------------------------------------------------------

@cli.group()
def task() -> None:
    """Tasks: run, list, describe, stop."""


@task.command("run")
@click.argument("reference")
@click.option("--count", type=int, default=1, show_default=True)
@click.option("--cluster", default="default", show_default=True)
@click.option("--group", default="", help="Task group (default family:<family>).")
@click.option("--started-by", default="")
@with_placement
@api_command
def task_run(api: Api, reference: str, count: int, cluster: str, group: str, started_by: str,
             constraints: tuple[str, ...], strategies: tuple[str, ...], as_json: bool) -> None:
    """Run COUNT tasks of FAMILY[:REVISION]."""
    response = api.RunTask(pb.RunTaskRequest(
        cluster=cluster, task_definition=reference, count=count, group=group,
        started_by=started_by, placement_constraints=constraint_messages(constraints),
        placement_strategy=strategy_messages(strategies)))
    print_run(response, as_json)


@task.command("ls")
@click.option("--cluster", default="default", show_default=True)
@click.option("--desired-status", type=click.Choice(["RUNNING", "STOPPED", "ALL"],
                                                    case_sensitive=False), default="ALL",
              show_default=True)
@api_command
def task_ls(api: Api, cluster: str, desired_status: str, as_json: bool) -> None:
    statuses = ["RUNNING", "STOPPED"] if desired_status.upper() == "ALL" else [desired_status.upper()]
    arns = [arn for status in statuses for arn in api.ListTasks(
        pb.ListTasksRequest(cluster=cluster, desired_status=status)).task_arns]
    if as_json:
        return print_json({"taskArns": arns})
    tasks = api.DescribeTasks(pb.DescribeTasksRequest(cluster=cluster, tasks=arns)).tasks if arns else []
    print_table(TASK_HEADERS, task_rows(sorted(tasks, key=lambda t: t.created_at_ms)))


@task.command("describe")
@click.argument("task_ids", nargs=-1, required=True)
@click.option("--cluster", default="default", show_default=True)
@api_command
def task_describe(api: Api, task_ids: tuple[str, ...], cluster: str, as_json: bool) -> None:
    response = api.DescribeTasks(pb.DescribeTasksRequest(cluster=cluster, tasks=task_ids))
    data = {"tasks": [ecs_json.task(t) for t in response.tasks],
            "failures": [ecs_json.failure(f) for f in response.failures]}
    if as_json:
        return print_json(data)
    for t in response.tasks:
        _print_task(t)
    for f in response.failures:
        fail(f"task {f.arn}: {f.reason}")


def _print_task(t) -> None:
    fields = [("task", t.task_arn), ("task definition", t.task_definition_arn.rsplit("/", 1)[-1]),
              ("cluster", t.cluster), ("instance", t.container_instance_id),
              ("last status", ecs_json.status_name(t.last_status)),
              ("desired status", ecs_json.status_name(t.desired_status)),
              ("health", ecs_json.health(t.health_status)),
              ("cpu / memory", f"{t.cpu} / {t.memory} MiB"), ("group", t.group),
              ("created", ecs_json.timestamp(t.created_at_ms)),
              ("started", ecs_json.timestamp(t.started_at_ms)),
              ("stopped", ecs_json.timestamp(t.stopped_at_ms)),
              ("stop code", t.stop_code), ("stopped reason", t.stopped_reason)]
    for name, value in fields:
        if value:
            click.echo(f"{name + ':':16} {value}")
    click.echo()
    print_table(["CONTAINER", "IMAGE", "STATUS", "HEALTH", "RESTARTS", "EXIT", "PORTS"],
                [[c.name, c.image, ecs_json.status_name(c.last_status),
                  ecs_json.health(c.health_status), c.restart_count,
                  c.exit_code if c.HasField("exit_code") else "",
                  bindings_text(c.network_bindings)] for c in t.containers])


@task.command("stop")
@click.argument("task_id")
@click.option("--cluster", default="default", show_default=True)
@click.option("--reason", default="")
@api_command
def task_stop(api: Api, task_id: str, cluster: str, reason: str, as_json: bool) -> None:
    stopped = api.StopTask(pb.StopTaskRequest(cluster=cluster, task=task_id, reason=reason)).task
    if as_json:
        return print_json({"task": ecs_json.task(stopped)})
    click.echo(f"{stopped.task_id} desired STOPPED ({stopped.stopped_reason})")


@cli.command()
@click.argument("task_id")
@click.option("--container", default="", help="Container name (default: the first).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
@click.option("--since", default="", help="Only output after this: 10m, 2h, 30s, or an ISO time.")
@click.option("--tail", type=int, default=0, help="Only the last N lines.")
@click.option("--cluster", default="default", show_default=True)
@api_command
def logs(api: Api, task_id: str, container: str, follow: bool, since: str, tail: int,
         cluster: str, as_json: bool) -> None:
    """Print a task container's output, streamed from its agent through the control plane.
    With --json, one JSON object per line of output: {"message": "..."} (as a CloudWatch
    log event names it)."""
    stream = api.method("GetTaskLogs")(pb.GetTaskLogsRequest(
        cluster=cluster, task=task_id, container=container, follow=follow,
        since_ms=_since_ms(since), tail=tail))
    try:
        if as_json:
            for line in log_lines(chunk.data for chunk in stream):
                click.echo(json.dumps({"message": line}))
        else:
            for chunk in stream:
                sys.stdout.buffer.write(chunk.data)
                sys.stdout.buffer.flush()
    except KeyboardInterrupt:
        stream.cancel()


def log_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a log that arrives in chunks cut anywhere, without their line ends; a
    last line without one comes at the end."""
    partial = b""
    for chunk in chunks:
        *lines, partial = (partial + chunk).split(b"\n")
        for line in lines:
            yield line.decode(errors="replace")
    if partial:
        yield partial.decode(errors="replace")


def _since_ms(text: str) -> int:
    """`10m`, `2h`, `30s`, `1d` ago, or an ISO 8601 time, as epoch milliseconds (0: none)."""
    import time
    from datetime import datetime

    from skiffcore.durations import parse_duration

    if not text:
        return 0
    try:
        return int((time.time() - parse_duration(text)) * 1000)
    except ValueError:
        pass  # not a duration: an ISO time, then
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        fail(f"--since: expected a duration like 10m or an ISO time, got {text!r}")
        return 0


# -- container instances -------------------------------------------------------------------

@cli.group()
def node() -> None:
    """Container instances (machines running an agent)."""


def _resource(resources, name: str) -> int:
    return next((r.integer_value for r in resources if r.name == name), 0)


@node.command("ls")
@click.option("--cluster", default="default", show_default=True)
@api_command
def node_ls(api: Api, cluster: str, as_json: bool) -> None:
    arns = api.ListContainerInstances(pb.ListContainerInstancesRequest(cluster=cluster)).container_instance_arns
    if as_json:
        return print_json({"containerInstanceArns": list(arns)})
    instances = api.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
        cluster=cluster, container_instances=arns)).container_instances if arns else []
    print_table(["INSTANCE", "NAME", "STATUS", "CONNECTED", "CPU FREE/TOTAL", "MEM FREE/TOTAL",
                 "RUNNING", "PENDING"],
                [[i.instance_id, i.name, i.status, "yes" if i.agent_connected else "no",
                  f"{_resource(i.remaining_resources, 'CPU')}/{_resource(i.registered_resources, 'CPU')}",
                  f"{_resource(i.remaining_resources, 'MEMORY')}/{_resource(i.registered_resources, 'MEMORY')}",
                  i.running_tasks_count, i.pending_tasks_count] for i in instances])


@node.command("describe")
@click.argument("instance_id")
@click.option("--cluster", default="default", show_default=True)
@api_command
def node_describe(api: Api, instance_id: str, cluster: str, as_json: bool) -> None:
    response = api.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
        cluster=cluster, container_instances=[instance_id]))
    if as_json:
        return print_json({"containerInstances": [ecs_json.container_instance(i)
                                                  for i in response.container_instances],
                           "failures": [ecs_json.failure(f) for f in response.failures]})
    if response.failures:
        fail(f"container instance {instance_id}: {response.failures[0].reason}")
    print_json(ecs_json.container_instance(response.container_instances[0]))


# -- components in the foreground ----------------------------------------------------------

@cli.group()
def controlplane() -> None:
    """The control plane."""


def host_port(value: str | None) -> str | None:
    """A HOST:PORT option; the port is required, since other processes dial it."""
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return value


@controlplane.command("serve")
@click.option("--etcd", default="127.0.0.1:2379", show_default=True,
              help="etcd endpoints, comma-separated host:port.")
@click.option("--listen", default=DEFAULT_ENDPOINT, show_default=True)
@click.option("--advertise", default=None, callback=lambda ctx, param, value: host_port(value),
              help="host:port other control-plane processes reach this one at (they forward "
                   "log requests for agents connected here). Default: the listen address, or "
                   "this host's name when listening on all interfaces.")
@click.option("--session-timeout", type=float, default=15.0, show_default=True,
              help="Seconds without a heartbeat before an agent counts as disconnected.")
@click.option("--lost-after", type=float, default=30.0, show_default=True,
              help="Seconds an agent may stay disconnected before its service tasks are "
                   "replaced elsewhere.")
@click.option("--stopped-retention", type=float, default=3600.0, show_default=True,
              help="Seconds a STOPPED task stays describable (ECS: 1 hour).")
@click.option("--max-backoff", type=float, default=900.0, show_default=True,
              help="Longest wait between starts of a service whose tasks keep failing.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Holds secrets.key (seals the CA key, the join token and secrets in etcd: "
                   "give every control-plane process of a cluster the same file), "
                   "bootstrap.json (the first admin's token) and join-token. Default: "
                   "$SKIFF_STATE_DIR/controlplane or ~/.skiff/controlplane.")
@click.option("--machines-listen", default=None, callback=lambda ctx, param, value: host_port(value),
              help="Where agents and other control-plane processes connect with certificates "
                   "(mutual TLS). Default: the --listen host, port + 1.")
@click.option("--machines-advertise", default=None,
              callback=lambda ctx, param, value: host_port(value),
              help="host:port agents and peers reach the machines port at.")
@click.option("--agent-cert-hours", type=float, default=24.0, show_default=True,
              help="Lifetime of the certificates agents get (renewed after two thirds).")
@click.option("--insecure", is_flag=True,
              help="Serve plaintext, no users or certificates (loopback addresses only).")
@click.option("--etcd-cacert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Connect to etcd over TLS, verified against this CA (an external etcd).")
@click.option("--etcd-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Client certificate for etcd (with --etcd-key).")
@click.option("--etcd-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Key of the etcd client certificate.")
@click.option("--registry", "registry_address", default=None,
              callback=lambda ctx, param, value: host_port(value),
              help="host:port of the bundled registry, as images name it: agents get "
                   "short-lived pull tokens for its images (needs --registry-auth-file).")
@click.option("--registry-auth-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="That registry's auth file: the control plane writes the cluster's users "
                   "into it (and a token_secret when it has none) and signs agents' pull tokens "
                   "with its token_secret. On another machine than the registry, give it a copy "
                   "with the same token_secret and ship the users back (see README).")
def controlplane_serve(etcd: str, listen: str, advertise: str | None, session_timeout: float,
                       lost_after: float, stopped_retention: float, max_backoff: float,
                       state_dir: Path | None, machines_listen: str | None,
                       machines_advertise: str | None, agent_cert_hours: float,
                       insecure: bool, etcd_cacert: str | None, etcd_cert: str | None,
                       etcd_key: str | None, registry_address: str | None,
                       registry_auth_file: Path | None) -> None:
    """Serve the control-plane and agent APIs over TLS (state in etcd)."""
    import datetime as dt

    from controlplane.registry_access import RegistryAccess
    from controlplane.secretbox import load_or_create_key
    from controlplane.server import Security, serve
    from controlplane.store import EtcdTls

    if (registry_address is None) != (registry_auth_file is None):
        fail("--registry and --registry-auth-file go together")
    registry = (RegistryAccess(registry_auth_file, registry_address)
                if registry_address and registry_auth_file else None)
    security = None
    if not insecure:
        state_dir = state_dir or default_state_dir() / "controlplane"
        try:
            key = load_or_create_key(state_dir / "secrets.key")
        except (OSError, ValueError) as exc:
            fail(f"--state-dir: {exc}")
        security = Security(key, machines_listen, machines_advertise,
                            bootstrap_file=state_dir / "bootstrap.json",
                            join_token_file=state_dir / "join-token",
                            agent_cert_ttl=dt.timedelta(hours=agent_cert_hours))
    if (etcd_cert or etcd_key) and not (etcd_cacert and etcd_cert and etcd_key):
        fail("--etcd-cert and --etcd-key go together, with --etcd-cacert")
    etcd_tls = EtcdTls(etcd_cacert, etcd_cert, etcd_key) if etcd_cacert else None
    try:
        serve(etcd, listen, advertise, security, etcd_tls, session_timeout=session_timeout,
              lost_after=lost_after, stopped_retention=stopped_retention,
              max_backoff=max_backoff, registry=registry)
    except ValueError as exc:
        fail(str(exc))


@cli.group()
def agent() -> None:
    """The node agent."""


@agent.command("serve")
@click.option("--endpoint", default=None, help="Control plane (default: the global --endpoint).")
@click.option("--name", default="", help="Instance name (default: the host name).")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path("/var/lib/skiff/agent"),
              show_default=True)
@click.option("--cluster", default="default", show_default=True)
@click.option("--reserved-memory", type=int, default=256, show_default=True,
              help="MiB kept for the host.")
@click.option("--stop-timeout", type=float, default=30.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL when stopping a container.")
@click.option("--pull", "pull_behavior", type=click.Choice(["default", "prefer-cached", "once"]),
              default="default", show_default=True,
              help="Image pull behaviour (as ECS_IMAGE_PULL_BEHAVIOR).")
@click.option("--heartbeat-interval", type=float, default=3.0, show_default=True)
@click.option("--registry-auth", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Credentials for pulls: a docker config.json "
                                 "(what `docker login` writes).")
@click.option("--zone", default="", help="Availability zone (attribute ecs.availability-zone).")
@click.option("--cleanup-after", type=float, default=3600.0, show_default=True,
              help="Seconds after a task stopped before its containers are removed.")
@click.option("--join-token", envvar="SKIFF_JOIN_TOKEN", default="", show_envvar=True,
              help="Join a TLS control plane with this token (`skiff node join-token`); once "
                   "joined, the certificate in --state-dir speaks for the node.")
@click.option("--join-token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read the join token from this file (keeps it off the command line).")
@click.pass_obj
def agent_serve(api: Api, endpoint: str | None, name: str, state_dir: Path, cluster: str,
                reserved_memory: int, stop_timeout: float, pull_behavior: str,
                heartbeat_interval: float, registry_auth: Path | None, zone: str,
                cleanup_after: float, join_token: str, join_token_file: Path | None) -> None:
    """Register this machine as a container instance and run its tasks with Docker."""
    import signal

    from agent.credentials import RegistryCredentials
    from agent.engine import EngineConfig
    from agent.runtime.docker_sdk import DockerRuntime
    from agent.session import Agent, AgentConfig

    try:
        credentials = (RegistryCredentials.load(registry_auth) if registry_auth
                       else RegistryCredentials())
    except ValueError as exc:
        fail(f"--registry-auth: {exc}")

    if join_token_file is not None:
        try:
            join_token = join_token_file.read_text().strip()
        except OSError as exc:
            fail(f"--join-token-file: {exc}")
    if join_token:
        from skiffcore.pki import JoinToken, TokenError
        try:
            JoinToken.parse(join_token)
        except TokenError as exc:
            fail(f"--join-token: {exc}")
    config = AgentConfig(endpoint=endpoint or api.endpoint, cluster=cluster, name=name,
                         join_token=join_token,
                         state_dir=state_dir, reserved_memory=reserved_memory,
                         heartbeat_interval=heartbeat_interval,
                         zone=zone,
                         engine=EngineConfig(stop_timeout=stop_timeout, pull_behavior=pull_behavior,
                                             credentials=credentials,
                                             cleanup_after=cleanup_after))
    node_agent = Agent(config, DockerRuntime(config.docker_url))
    signal.signal(signal.SIGTERM, lambda *_: node_agent.stop())
    try:
        node_agent.run()
    except KeyboardInterrupt:
        node_agent.stop()


@cli.group()
def registry() -> None:
    """The bundled OCI registry."""


# -- the single-machine stack --------------------------------------------------------------

def default_state_dir() -> Path:
    return Path(os.environ.get("SKIFF_STATE_DIR", Path.home() / ".skiff"))


@cli.command()
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="Where all data and logs go (default $SKIFF_STATE_DIR or ~/.skiff).")
@click.option("--detach", is_flag=True, help="Return once the stack is up; `skiff down` stops it.")
@click.option("--stop-timeout", type=float, default=30.0, show_default=True,
              help="The agent's stop timeout, in seconds.")
@click.option("--agents", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Container instances to start (they share the local Docker engine).")
@click.option("--install", is_flag=True,
              help="Write a systemd unit that runs this stack at boot, print its path, and "
                   "start nothing.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
              show_default=True, help="With --install: the root directory to write the unit "
                                      "under (etc/systemd/system/skiff.service).")
@click.pass_obj
def up(api: Api, state_dir: Path | None, detach: bool, stop_timeout: float, agents: int,
       install: bool, root: Path) -> None:
    """Start etcd, the registry, the control plane and agents on this machine.

    A supervisor keeps them running: a component that exits is restarted with back-off. On a
    stack that is partly running, starts what is missing."""
    from skiffharness.stack import UNIT_NAME, Stack, StackError, install_unit, systemd_unit

    state_dir = (state_dir or default_state_dir()).absolute()
    if install:
        path = install_unit(root, systemd_unit(state_dir, api.endpoint, agents, stop_timeout))
        click.echo(f"wrote {path}\nto start the stack now and at every boot: "
                   f"systemctl daemon-reload && systemctl enable --now {UNIT_NAME}")
        return
    stack = Stack(state_dir, api.endpoint)
    try:
        result = stack.up(stop_timeout=stop_timeout, agents=agents)
    except StackError as exc:
        fail(str(exc))
    if result.resumed:
        click.echo(f"started what was missing: {', '.join(result.started)}")
    click.echo(f"skiff is up: control plane {stack.endpoint}, registry {stack.registry_address}, "
               f"state in {stack.state_dir}")
    if result.docker_login:
        click.echo(f"warning: Docker is not logged in to the registry ({result.docker_login}); "
                   f"`docker login {stack.registry_address}` with a Skiff user name and token",
                   err=True)
    else:
        click.echo(f"docker is logged in to {stack.registry_address} as the first admin")
    if detach:
        return
    click.echo("press Ctrl-C to stop")
    clean, stopped = stack.wait()
    if stopped is not None:
        click.echo(down_text(stopped))
    if not clean:
        fail(f"the supervisor exited unexpectedly; see {stack.state_dir / 'logs'}")


@cli.command()
@click.option("--state-dir", type=click.Path(path_type=Path), default=None)
@click.option("--keep-tasks", is_flag=True,
              help="Leave the task containers running (a later `skiff up` adopts them).")
@click.pass_obj
def down(api: Api, state_dir: Path | None, keep_tasks: bool) -> None:
    """Stop what `skiff up` started, and the containers of its tasks (data stays in the
    state dir). Services start new tasks on the next `skiff up`."""
    from skiffharness.stack import Stack

    click.echo(down_text(Stack(state_dir or default_state_dir(), api.endpoint)
                         .down(keep_tasks=keep_tasks)))


def down_text(result) -> str:
    """`skiff down`'s report: the processes, then the task containers stopped or kept."""
    lines = ["stopped " + (", ".join(result.stopped) if result.stopped
                           else "nothing (not running)")]
    if result.tasks_stopped:
        lines.append(f"stopped {len(result.tasks_stopped)} task container(s): "
                     + ", ".join(result.tasks_stopped))
    if result.tasks_kept:
        lines.append(f"kept {len(result.tasks_kept)} task container(s) running: "
                     + ", ".join(result.tasks_kept))
    return "\n".join(lines)


add_placement_commands(cli, task, node)
add_registry_commands(cli, registry)
add_security_commands(cli, node)
add_secret_commands(cli)
cli.add_command(service)


def main() -> None:
    """Entry point: any unexpected error is one line on stderr and exit 1 (-v: traceback)."""
    try:
        cli(prog_name="skiff")
    except Exception as exc:  # click's own errors and exits are handled inside cli()
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            raise
        click.echo(f"error: {type(exc).__name__}: {exc}" if not str(exc) else f"error: {exc}",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
