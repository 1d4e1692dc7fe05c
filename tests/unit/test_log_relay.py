"""The control plane's log relay: what an agent pushes waits for a reader that is behind,
in a bounded buffer, and is dropped once the reader has gone."""

from __future__ import annotations

import threading

from controlplane.logs import LogRelay, LogRequest
from skiffharness.processes import wait_until


def push(relay: LogRelay, commands, chunks: list[bytes]) -> threading.Thread:
    """An agent: takes the log request, then pushes `chunks` and the end."""

    def run() -> None:
        request = commands.get(timeout=5)
        assert isinstance(request, LogRequest)
        for chunk in chunks:
            relay.deliver(request.request_id, chunk)
        relay.deliver(request.request_id, end=True)

    agent = threading.Thread(target=run, daemon=True)
    agent.start()
    return agent


def test_a_reader_behind_holds_the_agent_back_and_still_gets_everything():
    relay = LogRelay(poll=0.05, buffered_chunks=2)
    commands = relay.attach("default", "i-1")
    reader = relay.request("default", "i-1", "t1", "app", True, 0, 0, lambda: True)
    agent = push(relay, commands, [b"1", b"2", b"3", b"4", b"5"])
    assert next(reader) == b"1"
    (buffer,) = relay._waiting.values()
    wait_until(buffer.full, 2, interval=0.01, message="buffer full")
    assert agent.is_alive()  # waiting for room, not buffering the rest
    assert list(reader) == [b"2", b"3", b"4", b"5"]
    agent.join(2)
    assert not agent.is_alive()


def test_an_agent_waiting_on_a_reader_that_goes_away_stops_waiting():
    relay = LogRelay(poll=0.05, buffered_chunks=1)
    commands = relay.attach("default", "i-1")
    reader = relay.request("default", "i-1", "t1", "app", True, 0, 0, lambda: True)
    agent = push(relay, commands, [b"1", b"2", b"3"])
    assert next(reader) == b"1"
    (buffer,) = relay._waiting.values()
    wait_until(buffer.full, 2, interval=0.01, message="buffer full")
    reader.close()  # the CLI went away
    agent.join(2)
    assert not agent.is_alive()
