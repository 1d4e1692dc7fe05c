"""The agent's half of `skiff logs`: read a container's log from Docker and push it to the
control plane that asked (see controlplane/logs.py)."""

from __future__ import annotations

import logging
import threading
from typing import Iterator

import grpc

from agent.runtime import ContainerRuntime, ContainerRuntimeError, Stream, docker_container_name
from skiffapi.v1 import agent_pb2, agent_pb2_grpc

__all__ = ["LogShipper"]

log = logging.getLogger("skiff.agent.logs")


class LogShipper:
    def __init__(self, runtime: ContainerRuntime):
        self.runtime = runtime
        self._lock = threading.Lock()
        self._shipping: set[str] = set()  # requests being served
        self._open: dict[str, Stream] = {}  # ...and their Docker streams, once open
        self._cancelled: set[str] = set()  # ...cancelled before their stream was open

    def follow_commands(self, stub: agent_pb2_grpc.AgentServiceStub, cluster: str,
                        instance_id: str) -> None:
        """Serve log requests until the command stream ends (a reconnect starts a new one)."""
        try:
            for command in stub.StreamCommands(agent_pb2.StreamCommandsRequest(
                    cluster=cluster, instance_id=instance_id)):
                if command.HasField("logs"):
                    with self._lock:
                        self._shipping.add(command.logs.request_id)
                    threading.Thread(target=self._ship, args=(stub, command.logs),
                                     name="logs", daemon=True).start()
                elif command.HasField("cancel_logs"):
                    self.cancel(command.cancel_logs.request_id)
        except (grpc.RpcError, ValueError) as exc:  # disconnected or channel closed
            log.debug("command stream ended: %s", exc)

    def _ship(self, stub: agent_pb2_grpc.AgentServiceStub, request: agent_pb2.LogRequest) -> None:
        try:
            stub.PushLogs(self._chunks(request), timeout=None)
        except (grpc.RpcError, ValueError) as exc:
            log.debug("pushing logs for %s ended: %s", request.request_id, exc)
        finally:
            with self._lock:
                self._shipping.discard(request.request_id)
                self._cancelled.discard(request.request_id)
                stream = self._open.pop(request.request_id, None)
            if stream is not None:
                stream.close()

    def _chunks(self, request: agent_pb2.LogRequest) -> Iterator[agent_pb2.LogChunk]:
        # First an empty chunk: it names the request, so the control plane can end it even
        # when the container has no output at all.
        yield agent_pb2.LogChunk(request_id=request.request_id)
        name = docker_container_name(request.task_id, request.container_name)
        try:
            stream = self.runtime.logs(name, follow=request.follow,
                                       since=request.since_ms / 1000 if request.since_ms else None,
                                       tail=request.tail or None)
            with self._lock:
                cancelled = request.request_id in self._cancelled
                if not cancelled:
                    self._open[request.request_id] = stream
            if cancelled:  # while Docker was opening the stream
                stream.close()
                return
            for data in stream:
                yield agent_pb2.LogChunk(request_id=request.request_id, data=data)
        except ContainerRuntimeError as exc:
            yield agent_pb2.LogChunk(request_id=request.request_id, error=str(exc))

    def cancel(self, request_id: str) -> None:
        """End a request: close its stream, or have it closed as soon as it opens."""
        with self._lock:
            stream = self._open.pop(request_id, None)
            if stream is None and request_id in self._shipping:
                self._cancelled.add(request_id)
        if stream is not None:
            stream.close()
