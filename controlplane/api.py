"""The gRPC edges: thin servicers that convert, call the resource operations, and convert back.

Errors become gRPC status codes here and nowhere else.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import queue
import threading
import time

import grpc

from controlplane import convert
from controlplane import authz
from controlplane.authn import current_principal
from controlplane.errors import (Busy, ControlPlaneError, InvalidParameter, NotFound,
                                 PermissionDenied, Unauthenticated)
from controlplane.logs import AgentNotHere, CancelLogs, LogRelay, LogRequest
from controlplane.resources import ControlPlane
from controlplane.scheduler.snapshot_format import snapshot_to_dict
from controlplane.store import StoreError, StoreUnavailable
from controlplane.types import TaskStateReport
from skiffapi.v1 import agent_pb2, agent_pb2_grpc, controlplane_pb2 as pb, controlplane_pb2_grpc
from skiffcore import bounded
from skiffcore.status import TaskStatus

log = logging.getLogger("skiff.controlplane.api")

_CODES = {
    InvalidParameter: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Busy: grpc.StatusCode.ABORTED,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    StoreError: grpc.StatusCode.INTERNAL,
    AgentNotHere: grpc.StatusCode.FAILED_PRECONDITION,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}

# ECS caps a task definition at 64 KiB; nothing in one nests deeper than a few levels.
MAX_TASK_DEFINITION_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32


def _abort(context, exc: Exception) -> None:
    code = next((c for t, c in _CODES.items() if isinstance(exc, t)), grpc.StatusCode.INTERNAL)
    context.abort(code, bounded.cut(str(exc)))  # gRPC carries it in a header of a few kB


def _edge(method):
    """Translate the control plane's errors into gRPC status codes (unary methods)."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except (ControlPlaneError, StoreError) as exc:
            _abort(context, exc)

    return wrapper


def _stream_edge(method):
    """The same for server-streaming methods, whose body runs while the client iterates."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            yield from method(self, request, context)
        except (ControlPlaneError, StoreError) as exc:
            _abort(context, exc)

    return wrapper


FORWARDED = "skiff-forwarded"  # metadata of a request one control-plane process passed on


def _forwarded(context) -> bool:
    """A peer passed this request on (trusted from another control-plane process only, or on
    a plaintext control plane, where no one presents credentials)."""
    if current_principal().kind not in ("controlplane", "anonymous"):
        return False
    return any(key == FORWARDED for key, _ in context.invocation_metadata())


def _time_left(context) -> float | None:
    """Seconds to the caller's deadline; None if it set none (gRPC reports about 2**63)."""
    left = context.time_remaining()
    return left if left < 10**9 else None


# A forwarded --follow may stay quiet for long: pings find a peer that vanished.
PEER_CHANNEL_OPTIONS = [("grpc.keepalive_time_ms", 10_000), ("grpc.keepalive_timeout_ms", 5_000)]


def _logs_from(address: str, request, context, credentials: grpc.ChannelCredentials | None):
    """GetTaskLogs answered by the process at `address`, which has the agent's command stream
    (log data goes only through that process). Marked, so that it is not passed on again.
    With TLS, `address` is the peer's machines port and `credentials` this process's
    certificate; the peer trusts the mark only from a control-plane certificate."""
    channel = (grpc.secure_channel(address, credentials, options=PEER_CHANNEL_OPTIONS)
               if credentials else grpc.insecure_channel(address, options=PEER_CHANNEL_OPTIONS))
    with channel:
        call = controlplane_pb2_grpc.ControlPlaneStub(channel).GetTaskLogs(
            request, timeout=_time_left(context), metadata=((FORWARDED, "1"),))
        # The reader going away ends the other stream too (False: it has gone already).
        if not context.add_callback(call.cancel):
            call.cancel()
            return
        try:
            yield from call
        except grpc.RpcError as exc:
            if not context.is_active():
                return
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                details = (f"the task's agent is connected to the control plane at {address}, "
                           f"which did not answer: {exc.details()}")
            else:
                details = f"control plane at {address}: {exc.details()}"
            context.abort(exc.code(), details)


def _status(value: int, field: str) -> TaskStatus:
    try:
        return TaskStatus(value)
    except ValueError:
        raise InvalidParameter(field, f"unknown task status {value}") from None


class ControlPlaneServicer(controlplane_pb2_grpc.ControlPlaneServicer):
    def __init__(self, control_plane: ControlPlane, relay: LogRelay,
                 peer_credentials: grpc.ChannelCredentials | None = None):
        self.clusters = control_plane.clusters
        self.taskdefs = control_plane.taskdefs
        self.tasks = control_plane.tasks
        self.instances = control_plane.instances
        self.agents = control_plane.agents
        self.services = control_plane.services
        self.users = control_plane.users
        self.membership = control_plane.membership
        self.secrets = control_plane.secrets
        self.relay = relay
        self.peer_credentials = peer_credentials

    @_stream_edge
    def GetTaskLogs(self, request, context):
        task = self.tasks.task(request.cluster, request.task)
        names = [c.name for c in task.containers]
        container = request.container or names[0]
        if container not in names:
            raise InvalidParameter("container", f"task {task.task_id} has no container "
                                                f"{container!r} (it has {', '.join(names)})")
        if not (_forwarded(context) or self.relay.connected(task.cluster, task.instance_id)):
            elsewhere = self.agents.agent_elsewhere(task.cluster, task.instance_id)
            if elsewhere is None:
                raise AgentNotHere(f"the agent of container instance {task.instance_id} is not "
                                   "connected to any control plane process (it may be stopped "
                                   "or reconnecting)")
            yield from _logs_from(elsewhere, request, context, self.peer_credentials)
            return
        for chunk in self.relay.request(task.cluster, task.instance_id, task.task_id, container,
                                        request.follow, request.since_ms, request.tail,
                                        context.is_active):
            yield pb.TaskLogData(data=chunk)

    @_edge
    def CreateCluster(self, request, context):
        return pb.CreateClusterResponse(cluster=convert.cluster_pb(
            self.clusters.create_cluster(request.cluster_name)))

    @_edge
    def ListClusters(self, request, context):
        return pb.ListClustersResponse(cluster_arns=[c.arn for c in self.clusters.list_clusters()])

    @_edge
    def DescribeClusters(self, request, context):
        summaries, failures = self.clusters.describe_clusters(request.clusters)
        return pb.DescribeClustersResponse(
            clusters=[convert.cluster_pb(s.cluster, s) for s in summaries],
            failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def RegisterTaskDefinition(self, request, context):
        try:
            document = bounded.loads(request.task_definition_json, "taskDefinition",
                                     MAX_TASK_DEFINITION_BYTES, MAX_JSON_DEPTH)
        except bounded.BoundsError as exc:
            raise InvalidParameter("", str(exc)) from None
        record = self.taskdefs.register_task_definition(document)
        return pb.RegisterTaskDefinitionResponse(task_definition=convert.task_definition_pb(record))

    @_edge
    def DescribeTaskDefinition(self, request, context):
        record = self.taskdefs.describe_task_definition(request.task_definition)
        return pb.DescribeTaskDefinitionResponse(task_definition=convert.task_definition_pb(record))

    @_edge
    def ListTaskDefinitions(self, request, context):
        return pb.ListTaskDefinitionsResponse(task_definition_arns=self.taskdefs.list_task_definitions(
            request.family_prefix, request.status))

    @_edge
    def DeregisterTaskDefinition(self, request, context):
        record = self.taskdefs.deregister_task_definition(request.task_definition)
        return pb.DeregisterTaskDefinitionResponse(task_definition=convert.task_definition_pb(record))

    @_edge
    def RunTask(self, request, context):
        tasks, failures = self.tasks.run_task(
            request.cluster, request.task_definition, request.count, request.group,
            request.started_by, convert.placement_constraints_json(request.placement_constraints),
            convert.placement_strategy_json(request.placement_strategy))
        return pb.RunTaskResponse(tasks=[convert.task_pb(t) for t in tasks],
                                  failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def StartTask(self, request, context):
        tasks, failures = self.tasks.start_task(request.cluster, request.task_definition,
                                                  list(request.container_instances), request.group,
                                                  request.started_by)
        return pb.StartTaskResponse(tasks=[convert.task_pb(t) for t in tasks],
                                    failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def ExplainTask(self, request, context):
        explanation = self.tasks.explain_task(request.cluster, request.task)
        return pb.ExplainTaskResponse(text=explanation.render(),
                                      explanation_json=json.dumps(explanation.as_dict()))

    @_edge
    def StopTask(self, request, context):
        task = self.tasks.stop_task(request.cluster, request.task, request.reason)
        return pb.StopTaskResponse(task=convert.task_pb(task))

    @_edge
    def DescribeTasks(self, request, context):
        tasks, failures = self.tasks.describe_tasks(request.cluster, request.tasks)
        return pb.DescribeTasksResponse(tasks=[convert.task_pb(t) for t in tasks],
                                        failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def ListTasks(self, request, context):
        tasks = self.tasks.list_tasks(request.cluster, request.family, request.container_instance,
                                        request.desired_status)
        return pb.ListTasksResponse(task_arns=[t.arn for t in tasks])

    @_edge
    def ListContainerInstances(self, request, context):
        views, _ = self.instances.instance_views(request.cluster)
        status = request.status.upper()
        return pb.ListContainerInstancesResponse(container_instance_arns=[
            v.record.arn for v in views if not status or v.record.status == status])

    @_edge
    def DescribeContainerInstances(self, request, context):
        views, failures = self.instances.instance_views(request.cluster, request.container_instances)
        return pb.DescribeContainerInstancesResponse(
            container_instances=[convert.instance_pb(v.record, v) for v in views],
            failures=[convert.failure_pb(f) for f in failures])


    @_edge
    def UpdateContainerInstancesState(self, request, context):
        records, failures = self.instances.update_instances_state(
            request.cluster, request.container_instances, request.status)
        views, _ = self.instances.instance_views(request.cluster, [r.instance_id for r in records])
        return pb.UpdateContainerInstancesStateResponse(
            container_instances=[convert.instance_pb(v.record, v) for v in views],
            failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def PutAttributes(self, request, context):
        done = self.instances.put_attributes(request.cluster, [(a.name, a.value, a.target_id)
                                                             for a in request.attributes])
        return pb.PutAttributesResponse(attributes=[convert.target_attribute_pb(*a) for a in done])

    @_edge
    def DeleteAttributes(self, request, context):
        done = self.instances.delete_attributes(request.cluster, [(a.name, a.value, a.target_id)
                                                                for a in request.attributes])
        return pb.DeleteAttributesResponse(attributes=[convert.target_attribute_pb(*a) for a in done])

    @_edge
    def ListAttributes(self, request, context):
        found = self.instances.list_attributes(request.cluster, request.attribute_name,
                                             request.attribute_value)
        return pb.ListAttributesResponse(attributes=[convert.target_attribute_pb(*a) for a in found])

    @_edge
    def ExportSnapshot(self, request, context):
        snapshot = self.instances.cluster_snapshot(request.cluster)
        return pb.ExportSnapshotResponse(snapshot_json=json.dumps(snapshot_to_dict(snapshot)))

    @_edge
    def CreateService(self, request, context):
        service = self.services.create_service(
            request.cluster, request.service_name, request.task_definition, request.desired_count,
            request.scheduling_strategy,
            convert.deployment_configuration_json(request.deployment_configuration),
            convert.placement_constraints_json(request.placement_constraints),
            convert.placement_strategy_json(request.placement_strategy),
            request.healthy_after_seconds if request.HasField("healthy_after_seconds") else None)
        return pb.CreateServiceResponse(service=convert.service_pb(service))

    @_edge
    def UpdateService(self, request, context):
        placement = ((convert.placement_constraints_json(request.placement_constraints),
                      convert.placement_strategy_json(request.placement_strategy))
                     if request.update_placement else None)
        service = self.services.update_service(
            request.cluster, request.service,
            request.task_definition if request.HasField("task_definition") else None,
            request.desired_count if request.HasField("desired_count") else None,
            convert.deployment_configuration_json(request.deployment_configuration),
            request.force_new_deployment, placement,
            request.healthy_after_seconds if request.HasField("healthy_after_seconds") else None)
        return pb.UpdateServiceResponse(service=convert.service_pb(service))

    @_edge
    def DeleteService(self, request, context):
        service = self.services.delete_service(request.cluster, request.service, request.force)
        return pb.DeleteServiceResponse(service=convert.service_pb(service))

    @_edge
    def DescribeServices(self, request, context):
        services, failures = self.services.describe_services(request.cluster, request.services)
        return pb.DescribeServicesResponse(services=[convert.service_pb(s) for s in services],
                                           failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def ListServices(self, request, context):
        return pb.ListServicesResponse(service_arns=[
            s.arn for s in self.services.list_services(request.cluster)])


    @_edge
    def DeregisterContainerInstance(self, request, context):
        record = self._membership().deregister(request.cluster, request.container_instance,
                                               request.force)
        return pb.DeregisterContainerInstanceResponse(
            container_instance=convert.instance_pb(record))

    @_edge
    def WhoAmI(self, request, context):
        principal = current_principal()
        return pb.WhoAmIResponse(kind=principal.kind, name=principal.name, role=principal.role)

    @_edge
    def CreateUser(self, request, context):
        user, token = self.users.create(request.name, request.role)
        return pb.CreateUserResponse(user=convert.user_pb(user), token=token)

    @_edge
    def ListUsers(self, request, context):
        return pb.ListUsersResponse(users=[convert.user_pb(u) for u in self.users.list()])

    @_edge
    def DeleteUser(self, request, context):
        return pb.DeleteUserResponse(user=convert.user_pb(self.users.delete(request.name)))

    @_edge
    def RotateUserToken(self, request, context):
        user, token = self.users.rotate(request.name)
        return pb.RotateUserTokenResponse(user=convert.user_pb(user), token=token)

    @_edge
    def GetJoinToken(self, request, context):
        return pb.GetJoinTokenResponse(token=str(self._trust().join_token(request.rotate)))

    @_edge
    def PutSecret(self, request, context):
        secret, created = self.secrets.put(
            request.name, request.value,
            request.description if request.HasField("description") else None)
        return pb.PutSecretResponse(secret=convert.secret_pb(secret), created=created)

    @_edge
    def ListSecrets(self, request, context):
        return pb.ListSecretsResponse(secrets=[convert.secret_pb(s) for s in self.secrets.list()])

    @_edge
    def DescribeSecret(self, request, context):
        return pb.DescribeSecretResponse(secret=convert.secret_pb(
            self.secrets.describe(request.name)))

    @_edge
    def DeleteSecret(self, request, context):
        return pb.DeleteSecretResponse(secret=convert.secret_pb(self.secrets.delete(request.name)))

    def _membership(self):
        if self.membership is None:
            raise InvalidParameter("", "this control plane runs without TLS: nodes join and "
                                       "leave only a secured one (`controlplane serve "
                                       "--state-dir`)")
        return self.membership

    def _trust(self):
        return self._membership().trust


class JoinServicer(agent_pb2_grpc.JoinServiceServicer):
    """Join, on the API port: a node with the join token gets its certificate."""

    def __init__(self, control_plane: ControlPlane, machines_endpoint: str):
        self.membership = control_plane.membership
        self.machines_endpoint = machines_endpoint

    @_edge
    def Join(self, request, context):
        if self.membership is None:
            raise InvalidParameter("", "this control plane runs without TLS")
        instance_id, certificate, ca_pem = self.membership.join(
            request.cluster, request.name, request.join_token, request.csr_pem)
        return agent_pb2.JoinResponse(instance_id=instance_id, certificate_pem=certificate,
                                      ca_pem=ca_pem, machines_endpoint=self.machines_endpoint)


def _acting_for(instance_id: str, what: str) -> None:
    """An agent acts only for the instance its certificate names. (On a plaintext control
    plane, for loopback tests, no one presents a certificate and nothing is checked.)"""
    principal = current_principal()
    if principal.kind != "anonymous":
        authz.require_instance(principal, instance_id, what)


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, control_plane: ControlPlane, relay: LogRelay,
                 resend_interval: float = 30.0, coalesce: float = 0.02):
        self.instances = control_plane.instances
        self.agents = control_plane.agents
        self.membership = control_plane.membership
        self.relay = relay
        self.resend_interval = resend_interval
        self.coalesce = coalesce

    @_stream_edge
    def StreamCommands(self, request, context):
        """Log requests (and their cancellations) for this agent, while it stays connected."""
        _acting_for(request.instance_id, "take commands")
        record = self.instances.instance(request.cluster, request.instance_id)
        commands = self.relay.attach(record.cluster, record.instance_id)
        context.add_callback(lambda: commands.put(None))  # wake the loop when the agent goes
        try:
            while context.is_active():
                try:
                    command = commands.get(timeout=self.resend_interval)
                except queue.Empty:
                    continue
                if isinstance(command, LogRequest):
                    yield agent_pb2.AgentCommand(logs=agent_pb2.LogRequest(
                        request_id=command.request_id, task_id=command.task_id,
                        container_name=command.container_name, follow=command.follow,
                        since_ms=command.since_ms, tail=command.tail))
                elif isinstance(command, CancelLogs):
                    yield agent_pb2.AgentCommand(cancel_logs=agent_pb2.CancelLogs(
                        request_id=command.request_id))
        finally:
            self.relay.detach(record.cluster, record.instance_id, commands)

    def PushLogs(self, request_iterator, context):
        principal = current_principal()
        request_id = ""
        try:
            for chunk in request_iterator:
                if principal.kind == "agent" and not self.relay.asked_of(chunk.request_id,
                                                                         principal.name):
                    context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                  f"{principal} was not asked for logs {chunk.request_id!r}")
                request_id = chunk.request_id
                self.relay.deliver(request_id, chunk.data, chunk.error)
        finally:
            if request_id:
                self.relay.deliver(request_id, end=True)
        return agent_pb2.PushLogsResponse()

    @_edge
    def RegisterContainerInstance(self, request, context):
        _acting_for(request.instance_id, "register")
        record = self.agents.register_instance(
            request.cluster, request.instance_id, request.name,
            convert.resource_value(request.total_resources, "CPU"),
            convert.resource_value(request.total_resources, "MEMORY"),
            {a.name: a.value for a in request.attributes}, request.agent_version)
        self.agents.heartbeat(record.cluster, record.instance_id, registering=True)
        return agent_pb2.RegisterContainerInstanceResponse(
            container_instance=convert.instance_pb(record))

    @_edge
    def Heartbeat(self, request, context):
        _acting_for(request.instance_id, "heartbeat")
        self.agents.heartbeat(request.cluster, request.instance_id)
        return agent_pb2.HeartbeatResponse()

    @_stream_edge
    def StreamAssignments(self, request, context):
        """Send the complete task set now, after every change the agent acts on (a task added
        or gone, a desired status), and again every `resend_interval` even when unchanged, so
        a dead agent's stream is noticed. A task's recorded status changing is no reason: the
        agent reported it itself, and its `last_status` only matters to a task it has not
        seen yet (adoption), which comes with a change. Every set names the leader epoch and
        etcd revision it was read at, so an agent can ignore a set older than one it acted on
        (this process's copy may lag another's)."""
        _acting_for(request.instance_id, "stream the assignments")
        self.instances.instance(request.cluster, request.instance_id)
        changed = threading.Event()
        changed.set()
        cancel = self.agents.watch_assignments(request.cluster, request.instance_id, changed.set)
        context.add_callback(changed.set)  # wake the loop when the agent goes away
        last, sent_at, looked_at = None, 0.0, -math.inf
        built: dict[str, tuple[int, agent_pb2.TaskAssignment]] = {}  # task id -> (version, pb)
        try:
            while context.is_active():
                changed.wait(self.resend_interval)
                # A burst of changes (a batch placed, reports arriving) becomes one message:
                # within `coalesce` of the last look the rest of it lands first; the first
                # change after a quiet spell goes out at once.
                wait = self.coalesce - (time.monotonic() - looked_at)
                if wait > 0 and context.is_active():
                    time.sleep(wait)
                changed.clear()
                if not context.is_active():
                    break
                current = self.agents.assignments(request.cluster, request.instance_id)
                assignments = current.tasks
                # Task definition revisions are immutable: the arn stands for the containers.
                key = [(t.task_id, t.desired, t.task_definition_arn) for t, _ in assignments]
                if key != last or time.monotonic() - sent_at >= self.resend_interval:
                    last, sent_at = key, time.monotonic()
                    yield agent_pb2.Assignments(tasks=[self._assignment(built, task, spec)
                                                       for task, spec in assignments],
                                                epoch=current.epoch, revision=current.revision)
                    for gone in set(built) - {task.task_id for task, _ in assignments}:
                        del built[gone]
                looked_at = time.monotonic()
        finally:
            cancel()

    def _assignment(self, built: dict[str, tuple[int, agent_pb2.TaskAssignment]], task, spec
                    ) -> agent_pb2.TaskAssignment:
        """The task's message, built again only when the task changed (a set is resent
        whole, mostly unchanged). Only here, on the stream of the task's own agent, are its
        secrets looked up (while it is to start); the message holding them stays in this
        stream's memory."""
        cached = built.get(task.task_id)
        if cached is None or cached[0] != task.version:
            told, secrets = self.agents.start_secrets(task, spec)
            cached = built[task.task_id] = (task.version,
                                            convert.assignment_pb(told, spec, secrets))
        return cached[1]

    @_edge
    def ReportTaskStates(self, request, context):
        _acting_for(request.instance_id, "report")
        failures = self.agents.report_task_states(request.cluster, request.instance_id, [
            TaskStateReport(r.task_id, _status(r.status, "reports.status"),
                            tuple(convert.container_report(c) for c in r.containers),
                            r.stop_code, r.stopped_reason, convert.health_name(r.health_status))
            for r in request.reports])
        return agent_pb2.ReportTaskStatesResponse(failures=[convert.failure_pb(f) for f in failures])

    @_edge
    def GetRegistryCredentials(self, request, context):
        _acting_for(request.instance_id, "get registry credentials")
        issued = self.agents.registry_credentials(request.cluster, request.instance_id,
                                                  request.image)
        if issued is None:
            return agent_pb2.GetRegistryCredentialsResponse()
        registry, token, expires_at_ms = issued
        return agent_pb2.GetRegistryCredentialsResponse(registry=registry, token=token,
                                                        expires_at_ms=expires_at_ms)

    @_edge
    def RenewCertificate(self, request, context):
        principal = current_principal()
        if self.membership is None or principal.kind != "agent":
            raise PermissionDenied(f"{principal} has no certificate to renew")
        return agent_pb2.RenewCertificateResponse(
            certificate_pem=self.membership.renew(principal.name, request.csr_pem))
