"""The agent's log shipper: a cancel ends a log request whenever it comes."""

from __future__ import annotations

import threading

from agent.logs import LogShipper
from skiffapi.v1 import agent_pb2
from skiffharness.processes import wait_until


class BlockingStream:
    """A followed log with no output: it ends only when closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        self.closed.wait(10)
        return iter(())

    def close(self) -> None:
        self.closed.set()


class SlowDocker:
    """Opens a log stream only once `opening` is set, as a busy engine may."""

    def __init__(self) -> None:
        self.opening = threading.Event()
        self.stream = BlockingStream()

    def logs(self, name, follow, since, tail):
        self.opening.wait(10)
        return self.stream


class Stub:
    def __init__(self, commands) -> None:
        self.commands = commands
        self.pushed = threading.Event()

    def StreamCommands(self, request):
        return iter(self.commands)

    def PushLogs(self, chunks, timeout=None):
        for _ in chunks:
            pass
        self.pushed.set()


def commands(request_id: str):
    logs = agent_pb2.AgentCommand(logs=agent_pb2.LogRequest(
        request_id=request_id, task_id="t1", container_name="app", follow=True))
    cancel = agent_pb2.AgentCommand(cancel_logs=agent_pb2.CancelLogs(request_id=request_id))
    return [logs, cancel]


def test_a_cancel_before_the_stream_opens_closes_it_once_open():
    docker = SlowDocker()
    stub = Stub(commands("r1"))
    shipper = LogShipper(docker)
    shipper.follow_commands(stub, "default", "i-1")  # takes both: the cancel comes first
    docker.opening.set()
    wait_until(docker.stream.closed.is_set, 2, interval=0.01, message="stream closed")
    wait_until(stub.pushed.is_set, 2, interval=0.01, message="push ended")
    assert not shipper._cancelled and not shipper._shipping and not shipper._open


def test_a_cancel_for_a_request_no_longer_served_is_not_kept():
    shipper = LogShipper(SlowDocker())
    shipper.cancel("gone")
    assert not shipper._cancelled
