"""Runs the control plane: one gRPC server serving both the ControlPlane and Agent APIs."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from controlplane.api import AgentServicer, ControlPlaneServicer, JoinServicer
from controlplane.authn import AuthInterceptor, Authenticator
from controlplane.controller import ServiceController
from controlplane.leader import Election
from controlplane.logs import LogRelay
from controlplane.registry_access import RegistryAccess
from controlplane.resources import ControlPlane
from controlplane.secretbox import SecretBox
from controlplane.store import EtcdStore, EtcdTls, Store
from skiffcore.contexts import Context, bootstrap_document
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


@dataclass
class Security:
    """What a TLS control plane needs beyond a plaintext one. `secrets_key` seals the CA key,
    the join token and secrets in etcd (the same file for every process of the cluster);
    `machines_listen` is the mutual-TLS port for agents and peers (default: the API port +
    1); `bootstrap_file` receives the first admin's token and the CA when this process makes
    the first user (for `skiff up`)."""

    secrets_key: bytes
    machines_listen: str | None = None
    machines_advertise: str | None = None
    bootstrap_file: Path | None = None
    join_token_file: Path | None = None  # the current join token, for local agents (0600)
    agent_cert_ttl: dt.timedelta = dt.timedelta(hours=24)

    def __repr__(self) -> str:
        return f"Security(machines_listen={self.machines_listen!r}, secrets_key=…)"


class ControlPlaneServer:
    """`ControlPlaneServer(store, "127.0.0.1:7070", security=Security(key)).start()`.

    With `security`, two TLS ports: the API port (`listen`, `.port`) for users' tokens and
    nodes joining, and the machines port (`.machines_port`) where agents and other
    control-plane processes present certificates (gRPC's Python server cannot ask for a client
    certificate without requiring one, so they cannot share a port). Without it, one plaintext
    port serving both APIs, allowed on loopback only (tests and benchmarks of other things)."""

    def __init__(self, store: Store, listen: str = "127.0.0.1:7070", max_workers: int = 1024,
                 session_timeout: float = 15.0, lost_after: float = 30.0,
                 stopped_retention: float = 3600.0, max_backoff: float = 900.0,
                 advertise: str | None = None, security: Security | None = None,
                 registry: RegistryAccess | None = None):
        self.store = store
        self.security = security
        self.registry = registry  # the bundled registry's auth file, kept in sync with users
        self.listen = listen
        box = SecretBox(security.secrets_key) if security else None
        # Each agent's assignment stream holds a worker thread for its lifetime, so the pool
        # is sized for many agents; keepalive pings find streams whose agent died.
        pool = futures.ThreadPoolExecutor(max_workers=max_workers)
        relay = LogRelay()
        if security is None:
            if not _loopback(listen):
                raise ValueError(f"--listen {listen}: without TLS the control plane listens on "
                                 f"loopback only; give it a state dir to serve TLS")
            self._server = grpc.server(pool, options=KEEPALIVE_OPTIONS)
            self._servers = [self._server]
            self.port = self._bind(self._server, listen, None)
            self.advertise = advertise or advertised_address(listen, self.port)
            self.machines_port = self.port
            self.machines_advertise = self.advertise
            self.control_plane = ControlPlane(store, session_timeout=session_timeout,
                                              address=self.advertise)
            self._add(self._server, relay, agents=True, peers=None)
        else:
            machines_listen = security.machines_listen or _next_port(listen)
            # Built here, started in start(): constructing a server runs no thread, but the
            # certificate must exist before a port can be bound.
            self.control_plane = ControlPlane(store, session_timeout=session_timeout, box=box,
                                              agent_cert_ttl=security.agent_cert_ttl)
            trust = self.control_plane.trust
            assert trust is not None
            names = _certificate_names(listen, advertise, machines_listen,
                                       security.machines_advertise)
            self.identity = trust.server_identity(f"controlplane@{socket.gethostname()}", *names)
            authenticator = Authenticator(trust.ca(), self.control_plane.work.view.user_by_token,
                                          trust.revoked)
            interceptors = [AuthInterceptor(authenticator)]
            self._server = grpc.server(pool, options=KEEPALIVE_OPTIONS, interceptors=interceptors)
            self._machines = grpc.server(pool, options=KEEPALIVE_OPTIONS,
                                         interceptors=interceptors)
            self._servers = [self._server, self._machines]
            self.port = self._bind(self._server, listen, self._credentials(False))
            self.machines_port = self._bind(self._machines, machines_listen,
                                            self._credentials(True))
            self.advertise = advertise or advertised_address(listen, self.port)
            self.machines_advertise = (security.machines_advertise
                                       or advertised_address(machines_listen, self.machines_port))
            # Peers forward log requests to the machines port, with this process's certificate.
            self.control_plane.sessions.address = self.machines_advertise
            peers = grpc.ssl_channel_credentials(self.identity.ca_pem, self.identity.key_pem,
                                                 self.identity.chain_pem)
            self._add(self._server, relay, agents=False, peers=peers)
            self._add(self._machines, relay, agents=True, peers=peers)
        # Every replica serves the API; the elected one also runs the controllers.
        self.election = Election(store)
        self.controller = ServiceController(self.control_plane, self.election, lost_after=lost_after,
                                            stopped_retention=stopped_retention,
                                            max_backoff=max_backoff)

    def _credentials(self, require_certificate: bool) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.identity.key_pem, self.identity.chain_pem)],
                                           root_certificates=self.identity.ca_pem,
                                           require_client_auth=require_certificate)

    @staticmethod
    def _bind(server: grpc.Server, address: str,
              credentials: grpc.ServerCredentials | None) -> int:
        port = (server.add_secure_port(address, credentials) if credentials
                else server.add_insecure_port(address))
        if port == 0:
            raise RuntimeError(f"cannot listen on {address}")
        return port

    def _add(self, server: grpc.Server, relay: LogRelay, agents: bool,
             peers: grpc.ChannelCredentials | None) -> None:
        controlplane_pb2_grpc.add_ControlPlaneServicer_to_server(
            ControlPlaneServicer(self.control_plane, relay, peers), server)
        if agents:
            agent_pb2_grpc.add_AgentServiceServicer_to_server(
                AgentServicer(self.control_plane, relay), server)
        elif self.security:
            agent_pb2_grpc.add_JoinServiceServicer_to_server(
                JoinServicer(self.control_plane, self.machines_advertise), server)

    def start(self) -> "ControlPlaneServer":
        """Load the state view before serving anything, then serve and campaign."""
        self.control_plane.start()
        if self.security:
            self._bootstrap(self.security)
        if self.registry is not None:
            self._follow_users(self.registry)
        for server in self._servers:
            server.start()
        self.election.start()
        self.controller.start()
        log.info("control plane listening on %s (advertised as %s)%s", self.listen,
                 self.advertise, f"; agents and peers on port {self.machines_port} "
                                 f"(mutual TLS)" if self.security else " without TLS")
        return self

    def _bootstrap(self, security: Security) -> None:
        """The first process of a new cluster makes the CA (done above), the join token and
        the first admin, whose token goes to the bootstrap file only; the current join token goes
    to the join token file, for the agents of a single-machine stack."""
        trust = self.control_plane.trust
        assert trust is not None
        join_token = trust.join_token()
        if security.join_token_file:
            write_private(security.join_token_file, f"{join_token}\n")
        token = self.control_plane.users.ensure_first_admin()
        if token and security.bootstrap_file:
            write_private(security.bootstrap_file, bootstrap_document(Context(
                self.advertise, trust.ca().cert_pem.decode(), token, "admin")))
            log.info("made the first admin user; its token is in %s", security.bootstrap_file)

    def _follow_users(self, registry: RegistryAccess) -> None:
        """Write the users to the registry's auth file now and after every change, and mint
        pull tokens for agents."""
        view = self.control_plane.view

        def sync() -> None:
            try:
                if registry.sync(view.users().values()):
                    log.info("registry users written to %s", registry.auth_file)
            except (OSError, ValueError) as exc:
                log.error("registry users not written: %s", exc)

        sync()
        view.on_change(sync)
        self.control_plane.agents.registry = registry

    def wait(self) -> None:
        self._server.wait_for_termination()

    def stop(self, grace: float = 2.0) -> None:
        self.controller.close()
        self.election.close()
        for server in self._servers:
            server.stop(grace).wait()
        self.control_plane.close()


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _next_port(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + 1}" if port.isdigit() and int(port) else f"{host}:0"


def _certificate_names(*addresses: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) clients may dial this process at."""
    dns, ips = {"localhost", socket.gethostname()}, {"127.0.0.1", "::1"}
    for address in addresses:
        if not address:
            continue
        host = address.rsplit(":", 1)[0].strip("[]")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host:
                dns.add(host)
            continue
        if not ip.is_unspecified:
            ips.add(str(ip))
    return tuple(sorted(dns)), tuple(sorted(ips))


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (it holds a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def serve(etcd: str, listen: str, advertise: str | None = None,
          security: Security | None = None, etcd_tls: EtcdTls | None = None,
          **settings: Any) -> None:
    """Serve in the foreground until interrupted (`skiff controlplane serve`); `settings` are
    ControlPlaneServer's other keywords (timings, `registry`)."""
    store = EtcdStore.connect(etcd, tls=etcd_tls)
    server = ControlPlaneServer(store, listen, advertise=advertise, security=security,
                                **settings).start()
    try:
        server.wait()
    finally:
        server.stop()
        store.close()
