"""Runs the control plane: one gRPC server serving both the ControlPlane and Agent APIs."""

from __future__ import annotations

import ipaddress
import logging
import socket
from concurrent import futures

import grpc

from controlplane.api import AgentServicer, ControlPlaneServicer
from controlplane.controller import ServiceController
from controlplane.leader import Election
from controlplane.logs import LogRelay
from controlplane.resources import ControlPlane
from controlplane.store import EtcdStore, Store
from skiffapi.v1 import agent_pb2_grpc, controlplane_pb2_grpc

log = logging.getLogger("skiff.controlplane")

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
]


def advertised_address(listen: str, port: int) -> str:
    """Where other control-plane processes reach this one: the listen address with the port
    actually bound, or this host's name when listening on every interface."""
    host = listen.rsplit(":", 1)[0]
    try:
        everywhere = host == "" or ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:  # a host name
        everywhere = False
    return f"{socket.gethostname() if everywhere else host}:{port}"


class ControlPlaneServer:
    """`ControlPlaneServer(store, "127.0.0.1:7070").start()`; `.port` is the bound port."""

    def __init__(self, store: Store, listen: str = "127.0.0.1:7070", max_workers: int = 1024,
                 session_timeout: float = 15.0, lost_after: float = 30.0,
                 stopped_retention: float = 3600.0, max_backoff: float = 900.0,
                 advertise: str | None = None):
        self.store = store
        # Each agent's assignment stream holds a worker thread for its lifetime, so the pool
        # is sized for many agents; keepalive pings find streams whose agent died.
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                   options=KEEPALIVE_OPTIONS)
        self.port = self._server.add_insecure_port(listen)
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {listen}")
        self.listen = listen
        self.advertise = advertise or advertised_address(listen, self.port)
        # Built here, started in start(): constructing a server runs no thread.
        self.control_plane = ControlPlane(store, session_timeout=session_timeout,
                                          address=self.advertise)
        # Every replica serves the API; the elected one also runs the controllers.
        self.election = Election(store)
        self.controller = ServiceController(self.control_plane, self.election, lost_after=lost_after,
                                            stopped_retention=stopped_retention,
                                            max_backoff=max_backoff)
        relay = LogRelay()
        controlplane_pb2_grpc.add_ControlPlaneServicer_to_server(
            ControlPlaneServicer(self.control_plane, relay), self._server)
        agent_pb2_grpc.add_AgentServiceServicer_to_server(
            AgentServicer(self.control_plane, relay), self._server)

    def start(self) -> "ControlPlaneServer":
        """Load the state view before serving anything, then serve and campaign."""
        self.control_plane.start()
        self._server.start()
        self.election.start()
        self.controller.start()
        log.info("control plane listening on %s (advertised as %s)", self.listen, self.advertise)
        return self

    def wait(self) -> None:
        self._server.wait_for_termination()

    def stop(self, grace: float = 2.0) -> None:
        self.controller.close()
        self.election.close()
        self._server.stop(grace).wait()
        self.control_plane.close()


def serve(etcd: str, listen: str, advertise: str | None = None, **settings: float) -> None:
    """Serve in the foreground until interrupted (`skiff controlplane serve`); `settings` are
    ControlPlaneServer's timing keywords."""
    store = EtcdStore.connect(etcd)
    server = ControlPlaneServer(store, listen, advertise=advertise, **settings).start()
    try:
        server.wait()
    finally:
        server.stop()
        store.close()
