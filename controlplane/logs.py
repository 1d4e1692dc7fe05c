"""Container logs through the control plane: no shell on the node needed.

The CLI asks the control plane (GetTaskLogs); the control plane sends a LogRequest down the
agent's command stream; the agent reads Docker's log and pushes it back (PushLogs); the
control plane passes each chunk on to the CLI. Only the process the agent's command stream
is attached to can relay (log data never goes through etcd); another process passes the
request on to that one (api.py), which it finds in the agent's session key.

    relay = LogRelay()
    for chunk in relay.request(cluster, instance_id, task_id, container, follow, since, tail,
                               is_active): ...
"""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

from controlplane.errors import ControlPlaneError

_END = object()


class AgentNotHere(ControlPlaneError):
    """The instance's agent has no command stream on this process."""


@dataclass(frozen=True)
class LogRequest:
    request_id: str
    task_id: str
    container_name: str
    follow: bool
    since_ms: int
    tail: int


@dataclass(frozen=True)
class CancelLogs:
    request_id: str


class LogRelay:
    def __init__(self, poll: float = 1.0, buffered_chunks: int = 256):
        self.poll = poll
        # Per reader: an agent that pushes faster than the reader takes waits (and so does its
        # Docker stream, through gRPC's flow control) instead of filling this process's memory.
        self.buffered_chunks = buffered_chunks
        self._lock = threading.Lock()
        self._agents: dict[tuple[str, str], queue.Queue] = {}  # commands for connected agents
        self._waiting: dict[str, queue.Queue] = {}              # chunks for CLI streams
        self._asked: dict[str, str] = {}                        # request id -> instance id

    # -- the agent's side -------------------------------------------------------------------

    def attach(self, cluster: str, instance_id: str) -> queue.Queue:
        """An agent opened its command stream: commands for it go to the returned queue."""
        commands: queue.Queue = queue.Queue()
        with self._lock:
            self._agents[(cluster, instance_id)] = commands
        return commands

    def connected(self, cluster: str, instance_id: str) -> bool:
        """The instance's agent has its command stream on this process."""
        with self._lock:
            return (cluster, instance_id) in self._agents

    def detach(self, cluster: str, instance_id: str, commands: queue.Queue) -> None:
        with self._lock:
            if self._agents.get((cluster, instance_id)) is commands:
                del self._agents[(cluster, instance_id)]

    def asked_of(self, request_id: str, instance_id: str) -> bool:
        """The request went to that instance's agent (an agent answers only its own)."""
        with self._lock:
            return self._asked.get(request_id, instance_id) == instance_id

    def deliver(self, request_id: str, data: bytes = b"", error: str = "", end: bool = False) -> None:
        """A chunk pushed by an agent (or its end) for a waiting reader; late chunks of a
        reader that went away are dropped."""
        with self._lock:
            waiting = self._waiting.get(request_id)
        if waiting is None:
            return
        items: list[object] = [data] if data else []  # chunks, then perhaps _END
        if error:
            items.append(f"error reading logs: {error}\n".encode())
        if end or error:
            items.append(_END)
        for item in items:
            while True:
                try:
                    waiting.put(item, timeout=self.poll)
                    break
                except queue.Full:  # the reader is behind; give up only once it is gone
                    with self._lock:
                        if self._waiting.get(request_id) is not waiting:
                            return

    # -- the reader's side ------------------------------------------------------------------

    def request(self, cluster: str, instance_id: str, task_id: str, container_name: str,
                follow: bool, since_ms: int, tail: int,
                is_active: Callable[[], bool]) -> Iterator[bytes]:
        """Ask the agent for the logs and yield them as they arrive, until the agent ends them
        or the reader goes away (`is_active` false), which cancels them on the agent."""
        with self._lock:
            commands = self._agents.get((cluster, instance_id))
        if commands is None:
            raise AgentNotHere(f"the agent of instance {instance_id} is not connected to this "
                               "control plane process")
        request_id = uuid.uuid4().hex
        chunks: queue.Queue = queue.Queue(maxsize=self.buffered_chunks)
        with self._lock:
            self._waiting[request_id] = chunks
            self._asked[request_id] = instance_id
        commands.put(LogRequest(request_id, task_id, container_name, follow, since_ms, tail))
        try:
            while is_active():
                try:
                    chunk = chunks.get(timeout=self.poll)
                except queue.Empty:
                    continue
                if chunk is _END:
                    return
                yield chunk
        finally:
            with self._lock:
                self._waiting.pop(request_id, None)
                self._asked.pop(request_id, None)
            commands.put(CancelLogs(request_id))
