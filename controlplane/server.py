"""Runs the control plane: one gRPC server serving both the ControlPlane and Agent APIs."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc

from controlplane.api import AgentServicer, ControlPlaneServicer
from controlplane.service import ControlPlaneService
from controlplane.store import EtcdStore, Store
from skiffapi.v1 import agent_pb2_grpc, controlplane_pb2_grpc

log = logging.getLogger("skiff.controlplane")


class ControlPlaneServer:
    """`ControlPlaneServer(store, "127.0.0.1:7070").start()`; `.port` is the bound port."""

    def __init__(self, store: Store, listen: str = "127.0.0.1:7070", max_workers: int = 64):
        self.store = store
        self.service = ControlPlaneService(store)
        # Each agent's assignment stream holds a worker thread for its lifetime.
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
        controlplane_pb2_grpc.add_ControlPlaneServicer_to_server(
            ControlPlaneServicer(self.service), self._server)
        agent_pb2_grpc.add_AgentServiceServicer_to_server(AgentServicer(self.service), self._server)
        self.port = self._server.add_insecure_port(listen)
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {listen}")
        self.listen = listen

    def start(self) -> "ControlPlaneServer":
        self._server.start()
        log.info("control plane listening on %s", self.listen)
        return self

    def wait(self) -> None:
        self._server.wait_for_termination()

    def stop(self, grace: float = 2.0) -> None:
        self._server.stop(grace).wait()


def serve(etcd: str, listen: str) -> None:
    """Serve in the foreground until interrupted (`skiff controlplane serve`)."""
    store = EtcdStore.connect(etcd)
    server = ControlPlaneServer(store, listen).start()
    try:
        server.wait()
    finally:
        server.stop()
        store.close()
