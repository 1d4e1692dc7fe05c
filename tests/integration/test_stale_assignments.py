"""Design invariant 8 at the agent: a set of assignments older than one the agent acted on,
served after a reconnect by a control-plane process whose copy of the state lags, undoes
nothing. A real control plane, agent and Docker; between agent and control plane an
AgentService that passes everything on and, once told to lag, ends the agent's stream and
serves every new one a set it passed on earlier — the very message a process whose copy
stopped at that revision would send (the processes have no way to make their copy lag)."""

from __future__ import annotations

import json
import subprocess
import threading
from concurrent import futures

import grpc
import pytest

from agent.identity import NodeIdentity
from skiffharness.processes import free_port, wait_until
from skiffapi.v1 import agent_pb2, agent_pb2_grpc, types_pb2
from tests.integration.harness import join_token, start_agent

pytestmark = pytest.mark.integration

AGENTS = 0  # the one agent here talks through the lagging door


class LaggingDoor(agent_pb2_grpc.AgentServiceServicer):
    """An AgentService in front of a real control plane, which it reaches as the node whose
    identity it holds (the agent behind it talks plaintext to the door)."""

    def __init__(self, identity: NodeIdentity):
        self.instance_id = identity.instance_id
        self.channel = grpc.secure_channel(identity.machines_endpoint, identity.credentials())
        self.upstream = agent_pb2_grpc.AgentServiceStub(self.channel)
        self.lock = threading.Lock()
        self.sets: list[agent_pb2.Assignments] = []  # every set passed on, oldest first
        self.streams: list[grpc.Future] = []
        self.stale: agent_pb2.Assignments | None = None
        self.stale_served = 0

    def lag(self, stale: agent_pb2.Assignments) -> None:
        """From now on serve `stale` to every new assignment stream; end the open ones."""
        with self.lock:
            self.stale, streams = stale, list(self.streams)
        for stream in streams:
            stream.cancel()

    def StreamAssignments(self, request, context):
        with self.lock:
            stale = self.stale
            if stale is None:
                stream = self.upstream.StreamAssignments(request)
                self.streams.append(stream)
        if stale is not None:
            self.stale_served += 1
            yield stale
            ended = threading.Event()
            context.add_callback(ended.set)
            ended.wait()
            return
        context.add_callback(stream.cancel)
        try:
            for assignments in stream:
                with self.lock:
                    self.sets.append(assignments)
                yield assignments
        except grpc.RpcError:
            return  # cancelled by `lag`: the agent reconnects

    def RegisterContainerInstance(self, request, context):
        request.instance_id = self.instance_id  # the instance the door's certificate names
        return self.upstream.RegisterContainerInstance(request, timeout=10)

    def GetRegistryCredentials(self, request, context):
        return self.upstream.GetRegistryCredentials(request, timeout=10)

    def Heartbeat(self, request, context):
        return self.upstream.Heartbeat(request, timeout=5)

    def ReportTaskStates(self, request, context):
        return self.upstream.ReportTaskStates(request, timeout=10)

    def StreamCommands(self, request, context):
        stream = self.upstream.StreamCommands(request)
        context.add_callback(stream.cancel)
        try:
            yield from stream
        except grpc.RpcError:
            return

    def PushLogs(self, request_iterator, context):
        return self.upstream.PushLogs(request_iterator, timeout=60)


def sleeper_taskdef(image: str) -> str:
    return json.dumps({"family": "stale-sets", "containerDefinitions": [{
        "name": "app", "image": image, "memory": 32, "entryPoint": ["sleep", "3600"]}]})


def docker_state(container_id: str) -> dict:
    out = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", container_id],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_a_set_older_than_one_acted_on_undoes_nothing_after_a_reconnect(stack):
    identity = NodeIdentity.join(stack.base / "door-identity", stack.endpoint,
                                 join_token(stack.endpoint), stack.client.cluster,
                                 f"{stack.client.cluster}-agent")
    door = LaggingDoor(identity)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    agent_pb2_grpc.add_AgentServiceServicer_to_server(door, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    agent = start_agent(f"127.0.0.1:{port}", stack.base / "agent-door", stack.base,
                        name=f"{stack.client.cluster}-agent", cluster=stack.client.cluster)
    stack.agents.append(agent)  # stopped, and its log shown, with the stack's
    try:
        client = stack.client
        client.wait_connected()
        td = client.register(sleeper_taskdef(stack.image))
        first = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
        first_container = client.wait_status(first, "RUNNING").containers[0].runtime_id
        with door.lock:  # what a copy stopped here would send: the first task, to run
            stale = next(s for s in reversed(door.sets)
                         if [t.task_id for t in s.tasks] == [first])
        assert stale.epoch > 0 and stale.revision > 0

        second = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
        second_container = client.wait_status(second, "RUNNING").containers[0].runtime_id
        client.stop(first)
        client.wait_status(first, "STOPPED", timeout=30)
        first_started_at = docker_state(first_container)["StartedAt"]
        with door.lock:
            newest = door.sets[-1]
        assert [t.task_id for t in newest.tasks] == [second]
        assert (newest.epoch, newest.revision) > (stale.epoch, stale.revision)

        door.lag(stale)
        ignored = "ignoring a task set of epoch"
        # Acted on, the stale set would stop the second task's container (not in the set).
        wait_until(lambda: ignored in agent.log_path.read_text(errors="replace")
                   or not docker_state(second_container)["Running"], 30,
                   message="the agent to answer the stale set")
        assert door.stale_served >= 1
        assert docker_state(second_container)["Running"], stack.logs()
        assert client.describe(second).last_status == types_pb2.TASK_STATUS_RUNNING
        assert not docker_state(first_container)["Running"]
        assert docker_state(first_container)["StartedAt"] == first_started_at  # not started again
        assert client.describe(first).last_status == types_pb2.TASK_STATUS_STOPPED
        running = subprocess.run(["docker", "ps", "-q", "--filter", f"label=skiff.task-id={first}"],
                                 capture_output=True, text=True, check=True).stdout.split()
        assert running == []
        assert ignored in agent.log_path.read_text(errors="replace")
    finally:
        agent.stop()
        server.stop(grace=None)
        door.channel.close()
