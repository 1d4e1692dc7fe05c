"""The agent's session: a command stream that ends while the connection is up is opened
again; one that ends with its connection is not."""

from __future__ import annotations

import threading

import agent.session
from agent.session import Agent, AgentConfig
from skiffharness.processes import wait_until


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
