"""The agent's session: a command stream that ends while the connection is up is opened
again; one that ends with its connection is not; an assignment set older than one acted on,
on this connection or an earlier one, changes nothing."""

from __future__ import annotations

import threading

import grpc
import pytest

import agent.session
from agent.session import Agent, AgentConfig
from skiffharness.processes import wait_until
from skiffapi.v1 import agent_pb2
from skiffcore.status import TaskStatus


class Stub:
    """StreamCommands: the first stream ends at once, the next ones when `release` is set."""

    def __init__(self) -> None:
        self.opened = 0
        self.release = threading.Event()

    def StreamCommands(self, request):
        self.opened += 1
        if self.opened > 1:
            self.release.wait(10)
        return iter(())


def test_a_command_stream_that_ends_is_opened_again_while_connected(tmp_path, monkeypatch):
    monkeypatch.setattr(agent.session, "COMMAND_STREAM_RETRY", 0.01)
    node = Agent(AgentConfig(state_dir=tmp_path), runtime=object())
    node._channel, node._stub = object(), Stub()
    loop = threading.Thread(target=node._command_loop, daemon=True)
    loop.start()
    wait_until(lambda: node._stub.opened == 2, 2, interval=0.01, message="stream reopened")
    node._channel = None  # the connection went: a reconnect starts its own loop
    node._stub.release.set()
    loop.join(2)
    assert not loop.is_alive()
    assert node._stub.opened == 2


class Sets:
    """StreamAssignments: each call (a connection) streams the next list of sets, then ends."""

    def __init__(self, *connections: list[agent_pb2.Assignments]) -> None:
        self.connections = list(connections)

    def StreamAssignments(self, request):
        return iter(self.connections.pop(0))


class Engine:
    """Records the task sets the session hands on: (task id, desired) per task."""

    def __init__(self) -> None:
        self.applied: list[list[tuple[str, TaskStatus]]] = []

    def apply(self, plans, sweep=False) -> None:
        self.applied.append([(p.task_id, p.desired) for p in plans])


def assignments(epoch: int, revision: int, **desired: TaskStatus) -> agent_pb2.Assignments:
    return agent_pb2.Assignments(epoch=epoch, revision=revision, tasks=[
        agent_pb2.TaskAssignment(task_id=task_id, desired_status=int(status))
        for task_id, status in desired.items()])


def test_a_set_older_than_one_acted_on_changes_nothing_even_after_a_reconnect(tmp_path):
    node = Agent(AgentConfig(state_dir=tmp_path), runtime=object())
    node.engine = Engine()
    node._stub = Sets(
        [assignments(3, 40, a=TaskStatus.RUNNING),
         assignments(3, 45, a=TaskStatus.STOPPED, b=TaskStatus.RUNNING),
         assignments(3, 45, a=TaskStatus.STOPPED, b=TaskStatus.RUNNING)],  # resent unchanged
        # a process that lags: its set is older, then its epoch is
        [assignments(3, 41, a=TaskStatus.RUNNING), assignments(2, 99, a=TaskStatus.RUNNING),
         assignments(4, 10, b=TaskStatus.RUNNING)])
    for _connection in range(2):
        with pytest.raises(grpc.RpcError):
            node._follow_assignments()
    stopped_and_b = [("a", TaskStatus.STOPPED), ("b", TaskStatus.RUNNING)]
    assert node.engine.applied == [[("a", TaskStatus.RUNNING)], stopped_and_b, stopped_and_b,
                                   [("b", TaskStatus.RUNNING)]]
    assert [p.task_id for p in node._last_plans] == ["b"]
