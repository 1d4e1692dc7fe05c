"""The gRPC door's authentication against a real TLS server: certificates, tokens, roles."""

from __future__ import annotations

import datetime as dt
from concurrent import futures

import grpc
import pytest

from controlplane import authn, authz
from skiffapi.v1 import agent_pb2, controlplane_pb2 as pb
from skiffcore import pki

HOUR = dt.timedelta(hours=1)


class Door:
    """A TLS server with the interceptor and two methods that record who called; `machines`:
    the port for agents and control-plane peers, where a client certificate is required."""

    def __init__(self, ca, users, revoked, clock=None, machines=False):
        self.seen = []
        key = pki.new_key()
        cert = ca.issue(pki.csr_for(key), "cp-test", pki.CONTROL_PLANE, HOUR,
                        ip_addresses=("127.0.0.1",))
        kwargs = {"clock": clock} if clock else {}
        auth = authn.Authenticator(ca, users, revoked, **kwargs)
        self.server = grpc.server(futures.ThreadPoolExecutor(4),
                                  interceptors=[authn.AuthInterceptor(auth)])

        def list_clusters(request, context):
            self.seen.append(authn.current_principal())
            return pb.ListClustersResponse()

        def heartbeat(request, context):
            principal = authn.current_principal()
            authz.require_instance(principal, request.instance_id, "heartbeat")
            self.seen.append(principal)
            return agent_pb2.HeartbeatResponse()

        self.server.add_generic_rpc_handlers([
            grpc.method_handlers_generic_handler("skiff.v1.ControlPlane", {
                "ListClusters": grpc.unary_unary_rpc_method_handler(
                    list_clusters, pb.ListClustersRequest.FromString,
                    pb.ListClustersResponse.SerializeToString)}),
            grpc.method_handlers_generic_handler("skiff.v1.AgentService", {
                "Heartbeat": grpc.unary_unary_rpc_method_handler(
                    _guard(heartbeat), agent_pb2.HeartbeatRequest.FromString,
                    agent_pb2.HeartbeatResponse.SerializeToString)})])
        creds = grpc.ssl_server_credentials([(pki.key_pem(key), cert + ca.cert_pem)],
                                            root_certificates=ca.cert_pem,
                                            require_client_auth=machines)
        self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()

    def channel(self, ca_pem, key=None, cert=None):
        creds = grpc.ssl_channel_credentials(ca_pem, key and pki.key_pem(key), cert)
        return grpc.secure_channel(f"127.0.0.1:{self.port}", creds)


def _guard(fn):
    def wrapper(request, context):
        try:
            return fn(request, context)
        except authz.PermissionDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
    return wrapper


def list_clusters(channel, token=None):
    stub = channel.unary_unary("/skiff.v1.ControlPlane/ListClusters",
                               pb.ListClustersRequest.SerializeToString,
                               pb.ListClustersResponse.FromString)
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    return stub(pb.ListClustersRequest(), metadata=metadata, timeout=10)


def heartbeat(channel, instance_id):
    stub = channel.unary_unary("/skiff.v1.AgentService/Heartbeat",
                               agent_pb2.HeartbeatRequest.SerializeToString,
                               agent_pb2.HeartbeatResponse.FromString)
    return stub(agent_pb2.HeartbeatRequest(instance_id=instance_id), timeout=10)


@pytest.fixture(scope="module")
def ca():
    return pki.CertificateAuthority.create("test")


@pytest.fixture
def world(ca):
    tokens = {}
    revoked = set()

    def add_user(name, role):
        token = authn.new_user_token()
        tokens[authn.token_hash(token)] = authn.UserCredential(name, role)
        return token

    doors = {m: Door(ca, tokens.get, lambda identity: identity.name in revoked, machines=m)
             for m in (False, True)}
    yield doors, add_user, revoked
    for door in doors.values():
        door.server.stop(None)


def agent_cert(ca, name, ttl=HOUR):
    key = pki.new_key()
    return key, ca.issue(pki.csr_for(key), name, pki.AGENT, ttl)


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_no_credentials_is_unauthenticated(world, ca):
    doors, _, _ = world
    with doors[False].channel(ca.cert_pem) as channel:
        code, details = code_of(lambda: list_clusters(channel))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "skiff login" in details


def test_user_token_and_roles(world, ca):
    doors, add_user, _ = world
    door = doors[False]
    viewer = add_user("bob", authz.VIEWER)
    with door.channel(ca.cert_pem) as channel:
        list_clusters(channel, viewer)
        assert door.seen[-1] == authz.Principal("user", "bob", authz.VIEWER)
        code, details = code_of(lambda: list_clusters(channel, authn.new_user_token()))
        assert code == grpc.StatusCode.UNAUTHENTICATED and "not valid" in details
        code, details = code_of(lambda: heartbeat(channel, "i-1"))
        assert code == grpc.StatusCode.UNAUTHENTICATED


def test_agent_certificate_acts_for_its_instance_only(world, ca):
    doors, _, _ = world
    door = doors[True]
    key, cert = agent_cert(ca, "i-1")
    with door.channel(ca.cert_pem, key, cert) as channel:
        heartbeat(channel, "i-1")
        assert door.seen[-1] == authz.Principal("agent", "i-1", authz.AGENT)
        code, details = code_of(lambda: heartbeat(channel, "i-2"))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert details == "agent i-1 may not heartbeat for instance i-2"
        code, details = code_of(lambda: list_clusters(channel))
        assert code == grpc.StatusCode.PERMISSION_DENIED and "may not ListClusters" in details


def test_revoked_certificate_is_refused(world, ca):
    doors, _, revoked = world
    key, cert = agent_cert(ca, "i-9")
    revoked.add(pki.identity_of(cert).name)
    with doors[True].channel(ca.cert_pem, key, cert) as channel:
        code, details = code_of(lambda: heartbeat(channel, "i-9"))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in details


def test_machines_port_refuses_a_caller_without_a_certificate(world, ca):
    doors, add_user, _ = world
    with doors[True].channel(ca.cert_pem) as channel:
        code, _ = code_of(lambda: list_clusters(channel, add_user("eve", authz.ADMIN)))
    assert code == grpc.StatusCode.UNAVAILABLE


def test_certificate_of_another_ca_is_refused(world, ca):
    doors, _, _ = world
    other = pki.CertificateAuthority.create("other")
    key, cert = agent_cert(other, "i-1")
    with doors[True].channel(ca.cert_pem, key, cert) as channel:
        code, _ = code_of(lambda: heartbeat(channel, "i-1"))
    assert code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)


def test_expired_certificate_is_refused(ca):
    later = [dt.datetime.now(dt.timezone.utc)]
    door = Door(ca, lambda h: None, lambda s: False, clock=lambda: later[0], machines=True)
    try:
        key, cert = agent_cert(ca, "i-1", ttl=dt.timedelta(minutes=1))
        with door.channel(ca.cert_pem, key, cert) as channel:
            heartbeat(channel, "i-1")
            later[0] += dt.timedelta(minutes=2)
            code, details = code_of(lambda: heartbeat(channel, "i-1"))
        assert code == grpc.StatusCode.UNAUTHENTICATED and "expired" in details
    finally:
        door.server.stop(None)


def test_wrong_ca_on_the_client_cannot_connect(world):
    doors, add_user, _ = world
    other = pki.CertificateAuthority.create("other")
    with doors[False].channel(other.cert_pem) as channel:
        code, _ = code_of(lambda: list_clusters(channel, add_user("a", authz.ADMIN)))
    assert code == grpc.StatusCode.UNAVAILABLE
