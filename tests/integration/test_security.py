"""Every door checks who is calling: a TLS control plane on real etcd, its two ports, users and
roles, nodes joining with a token, certificates rotated, revoked and expired."""

from __future__ import annotations

import datetime as dt
import json
import os

import grpc
import pytest

from controlplane.server import ControlPlaneServer, Security
from controlplane.store import EtcdStore
from skiffharness.processes import EtcdProcess, wait_until
from skiffapi.v1 import (agent_pb2, agent_pb2_grpc, controlplane_pb2 as pb, controlplane_pb2_grpc,
                         types_pb2)
from skiffcore import pki

pytestmark = pytest.mark.integration

CLUSTER = "secure"


class World:
    def __init__(self, base):
        self.etcd = EtcdProcess(base / "etcd", log_path=base / "etcd.log").start()
        self.store = EtcdStore.connect(self.etcd.endpoint)
        self.bootstrap = base / "bootstrap.json"
        self.server = ControlPlaneServer(
            self.store, "127.0.0.1:0", session_timeout=5,
            security=Security(os.urandom(32), machines_listen="127.0.0.1:0",
                              bootstrap_file=self.bootstrap,
                              agent_cert_ttl=dt.timedelta(seconds=30))).start()
        document = json.loads(self.bootstrap.read_text())
        self.admin_token, self.ca_pem = document["token"], document["ca"].encode()
        self.api_address = f"127.0.0.1:{self.server.port}"
        self.machines_address = f"127.0.0.1:{self.server.machines_port}"

    def user_api(self, token: str | None, ca_pem: bytes | None = None):
        creds = grpc.ssl_channel_credentials(ca_pem or self.ca_pem)
        if token:
            creds = grpc.composite_channel_credentials(
                creds, grpc.access_token_call_credentials(token))
        return controlplane_pb2_grpc.ControlPlaneStub(grpc.secure_channel(self.api_address, creds))

    def join(self, name: str, token: str | None = None) -> "Node":
        key = pki.new_key()
        token = token or self.admin.GetJoinToken(pb.GetJoinTokenRequest(), timeout=10).token
        parsed = pki.JoinToken.parse(token)
        host, port = self.api_address.split(":")
        ca_pem = pki.fetch_pinned_ca(host, int(port), parsed.ca_digest)
        channel = grpc.secure_channel(self.api_address, grpc.ssl_channel_credentials(ca_pem))
        reply = agent_pb2_grpc.JoinServiceStub(channel).Join(agent_pb2.JoinRequest(
            cluster=CLUSTER, name=name, join_token=token, csr_pem=pki.csr_for(key)), timeout=10)
        channel.close()
        return Node(self, key, reply)

    def close(self):
        self.server.stop(0)
        self.store.close()
        self.etcd.stop()


class Node:
    """A joined node: its key, certificate, and an AgentService stub over mutual TLS."""

    def __init__(self, world: World, key, reply: agent_pb2.JoinResponse):
        self.world, self.key = world, key
        self.instance_id = reply.instance_id
        self.certificate = reply.certificate_pem
        self.machines_endpoint = reply.machines_endpoint
        self.api = self.stub()

    def stub(self, certificate: bytes | None = None):
        creds = grpc.ssl_channel_credentials(self.world.ca_pem, pki.key_pem(self.key),
                                             certificate or self.certificate)
        return agent_pb2_grpc.AgentServiceStub(grpc.secure_channel(self.world.machines_address,
                                                                   creds))

    def register(self, instance_id: str | None = None, name: str = ""):
        return self.api.RegisterContainerInstance(agent_pb2.RegisterContainerInstanceRequest(
            cluster=CLUSTER, instance_id=self.instance_id if instance_id is None else instance_id,
            name=name or f"node-{self.instance_id[:6]}",
            total_resources=[types_pb2.Resource(name="CPU", type="INTEGER", integer_value=1024),
                             types_pb2.Resource(name="MEMORY", type="INTEGER",
                                                integer_value=1024)],
            agent_version="test"), timeout=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("secure"))
    w.admin = w.user_api(w.admin_token)
    w.admin.CreateCluster(pb.CreateClusterRequest(cluster_name=CLUSTER), timeout=10)
    yield w
    w.close()


def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details() or ""


def methods(module, service: str):
    return module.DESCRIPTOR.services_by_name[service].methods


def call_empty(channel, service, method):
    """Call any method with an empty request, unary or streaming, and read its answer."""
    path = f"/{service.full_name}/{method.name}"
    request_type = method.input_type._concrete_class
    response_type = method.output_type._concrete_class
    if method.client_streaming:
        stub = channel.stream_unary(path, request_type.SerializeToString, response_type.FromString)
        return stub(iter([request_type()]), timeout=10)
    if method.server_streaming:
        stub = channel.unary_stream(path, request_type.SerializeToString, response_type.FromString)
        return list(stub(request_type(), timeout=10))
    stub = channel.unary_unary(path, request_type.SerializeToString, response_type.FromString)
    return stub(request_type(), timeout=10)


def all_methods():
    from skiffapi.v1 import controlplane_pb2
    for module, name in ((controlplane_pb2, "ControlPlane"), (agent_pb2, "AgentService")):
        service = module.DESCRIPTOR.services_by_name[name]
        for method in service.methods:
            yield service, method


@pytest.mark.parametrize("service, method", list(all_methods()),
                         ids=lambda v: getattr(v, "name", None))
def test_every_method_refuses_a_caller_without_credentials(world, service, method):
    channel = grpc.secure_channel(world.api_address, grpc.ssl_channel_credentials(world.ca_pem))
    code, details = refused(lambda: call_empty(channel, service, method))
    # The API port serves users (and joins); agents have the machines port.
    expected = (grpc.StatusCode.UNAUTHENTICATED if service.name == "ControlPlane"
                else grpc.StatusCode.UNIMPLEMENTED)
    assert code == expected, details
    channel.close()
    # The machines port does not even finish the handshake without a certificate.
    channel = grpc.secure_channel(world.machines_address,
                                  grpc.ssl_channel_credentials(world.ca_pem))
    code, _ = refused(lambda: call_empty(channel, service, method))
    assert code == grpc.StatusCode.UNAVAILABLE
    channel.close()


@pytest.fixture(scope="module")
def bad_certificates(world):
    """(revoked node, node whose certificate another CA issued): channels to the machines
    port with each."""
    revoked = world.join("node-revoked")
    revoked.register(name="node-revoked")
    world.admin.DeregisterContainerInstance(pb.DeregisterContainerInstanceRequest(
        cluster=CLUSTER, container_instance=revoked.instance_id), timeout=10)
    other = pki.CertificateAuthority.create("other")
    key = pki.new_key()
    foreign = other.issue(pki.csr_for(key), revoked.instance_id, pki.AGENT,
                          dt.timedelta(hours=1))

    def channel(key, certificate):
        return grpc.secure_channel(world.machines_address, grpc.ssl_channel_credentials(
            world.ca_pem, pki.key_pem(key), certificate))

    def refused_as_revoked():
        code, _ = refused(lambda: revoked.api.Heartbeat(agent_pb2.HeartbeatRequest(
            cluster=CLUSTER, instance_id=revoked.instance_id), timeout=10))
        return code == grpc.StatusCode.UNAUTHENTICATED

    wait_until(refused_as_revoked, 10, message="the revocation to reach the state view")
    yield channel(revoked.key, revoked.certificate), channel(key, foreign)


@pytest.mark.parametrize("service, method", list(all_methods()),
                         ids=lambda v: getattr(v, "name", None))
def test_every_method_refuses_a_revoked_or_foreign_certificate(bad_certificates, service,
                                                              method):
    revoked, foreign = bad_certificates
    code, details = refused(lambda: call_empty(revoked, service, method))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in details, details
    code, _ = refused(lambda: call_empty(foreign, service, method))
    assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)


def test_plaintext_and_a_wrong_ca_cannot_connect(world):
    plain = controlplane_pb2_grpc.ControlPlaneStub(grpc.insecure_channel(world.api_address))
    code, _ = refused(lambda: plain.ListClusters(pb.ListClustersRequest(), timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE
    other = pki.CertificateAuthority.create("other")
    wrong = world.user_api(world.admin_token, other.cert_pem)
    code, _ = refused(lambda: wrong.ListClusters(pb.ListClustersRequest(), timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE


def test_roles(world):
    viewer = world.admin.CreateUser(pb.CreateUserRequest(name="bob", role="viewer"), timeout=10)
    operator = world.admin.CreateUser(pb.CreateUserRequest(name="olga", role="operator"),
                                      timeout=10)
    assert viewer.token.startswith("skf_") and viewer.user.role == "viewer"
    as_viewer, as_operator = world.user_api(viewer.token), world.user_api(operator.token)
    assert as_viewer.WhoAmI(pb.WhoAmIRequest(), timeout=10).name == "bob"
    as_viewer.ListClusters(pb.ListClustersRequest(), timeout=10)
    code, details = refused(lambda: as_viewer.RunTask(pb.RunTaskRequest(
        cluster=CLUSTER, task_definition="x:1"), timeout=10))
    assert (code, details) == (grpc.StatusCode.PERMISSION_DENIED,
                               "user bob (viewer) may not RunTask")
    code, details = refused(lambda: as_operator.CreateUser(pb.CreateUserRequest(
        name="mallory", role="admin"), timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "olga (operator)" in details
    # No response carries a token hash; a rotated token stops working at once.
    users = world.admin.ListUsers(pb.ListUsersRequest(), timeout=10).users
    assert {u.name for u in users} >= {"admin", "bob", "olga"}
    world.admin.RotateUserToken(pb.RotateUserTokenRequest(name="bob"), timeout=10)
    code, details = refused(lambda: as_viewer.ListClusters(pb.ListClustersRequest(), timeout=10))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "not valid" in details


def test_an_agent_acts_for_its_own_instance_only(world):
    a, b = world.join("node-a"), world.join("node-b")
    assert a.machines_endpoint == world.machines_address
    a.register(name="node-a")
    b.register(name="node-b")
    a.api.Heartbeat(agent_pb2.HeartbeatRequest(cluster=CLUSTER, instance_id=a.instance_id),
                    timeout=10)
    for call in (
        lambda: a.register(instance_id=b.instance_id, name="node-b"),
        lambda: a.register(instance_id="", name="node-c"),
        lambda: a.api.Heartbeat(agent_pb2.HeartbeatRequest(cluster=CLUSTER,
                                                           instance_id=b.instance_id), timeout=10),
        lambda: next(iter(a.api.StreamAssignments(agent_pb2.StreamAssignmentsRequest(
            cluster=CLUSTER, instance_id=b.instance_id), timeout=10))),
        lambda: a.api.ReportTaskStates(agent_pb2.ReportTaskStatesRequest(
            cluster=CLUSTER, instance_id=b.instance_id), timeout=10),
    ):
        code, details = refused(call)
        assert code == grpc.StatusCode.PERMISSION_DENIED, details
        assert f"agent {a.instance_id} may not" in details
    # An agent is no user: the ControlPlane API is closed to it.
    cp = controlplane_pb2_grpc.ControlPlaneStub(grpc.secure_channel(
        world.machines_address, grpc.ssl_channel_credentials(
            world.ca_pem, pki.key_pem(a.key), a.certificate)))
    code, _ = refused(lambda: cp.ListClusters(pb.ListClustersRequest(), timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_a_name_in_use_cannot_be_joined_again(world):
    node = world.join("node-dup")
    node.register(name="node-dup")
    code, details = refused(lambda: world.join("node-dup"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "already named" in details
    other = world.join("node-other")
    code, details = refused(lambda: other.register(name="node-dup"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "already named" in details


def test_rotated_join_token_refuses_new_joins_and_keeps_joined_nodes(world):
    old = world.admin.GetJoinToken(pb.GetJoinTokenRequest(), timeout=10).token
    joined = world.join("node-before", old)
    joined.register(name="node-before")
    new = world.admin.GetJoinToken(pb.GetJoinTokenRequest(rotate=True), timeout=10).token
    assert new != old and new.rsplit("-", 1)[0] == old.rsplit("-", 1)[0]  # same CA digest
    code, details = refused(lambda: world.join("node-late", old))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "rotated" in details
    joined.api.Heartbeat(agent_pb2.HeartbeatRequest(cluster=CLUSTER,
                                                    instance_id=joined.instance_id), timeout=10)
    world.join("node-late", new)


def test_renewal_and_revocation(world):
    node = world.join("node-r")
    node.register(name="node-r")
    renewed = node.api.RenewCertificate(agent_pb2.RenewCertificateRequest(
        csr_pem=pki.csr_for(node.key)), timeout=10).certificate_pem
    assert pki.identity_of(renewed).name == node.instance_id
    node.api = node.stub(renewed)
    world.admin.DeregisterContainerInstance(pb.DeregisterContainerInstanceRequest(
        cluster=CLUSTER, container_instance=node.instance_id), timeout=10)

    def revoked():
        code, details = refused(lambda: node.api.Heartbeat(agent_pb2.HeartbeatRequest(
            cluster=CLUSTER, instance_id=node.instance_id), timeout=10))
        return code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in details

    wait_until(revoked, 10, message="the deregistered instance's certificate to be refused")


def test_expired_certificate_is_refused(world):
    node = world.join("node-x")  # certificates live 30 s here
    node.register(name="node-x")
    expiry = pki.identity_of(node.certificate).not_after

    def refused_now():
        if dt.datetime.now(dt.timezone.utc) <= expiry:
            return False
        code, _ = refused(lambda: node.stub().Heartbeat(agent_pb2.HeartbeatRequest(
            cluster=CLUSTER, instance_id=node.instance_id), timeout=10))
        return code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)

    wait_until(refused_now, 60, interval=0.5, message="the certificate to expire and be refused")


def test_an_agent_joins_with_a_token_renews_and_restarts_as_the_same_instance(world, tmp_path):
    """The real agent session, with a fake container runtime: join, mutual TLS, renewal before
    expiry (certificates live 30 s here, renewed after 20), and a restart without the token."""
    import threading

    from agent.fake_runtime import FakeRuntime
    from agent.session import Agent, AgentConfig

    token = world.admin.GetJoinToken(pb.GetJoinTokenRequest(), timeout=10).token
    config = AgentConfig(endpoint=world.api_address, cluster=CLUSTER, name="node-agent",
                         state_dir=tmp_path, heartbeat_interval=0.5, join_token=token)
    assert token not in repr(config)

    def run(agent):
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        return thread

    def connected(instance_id):
        instances = world.admin.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
            cluster=CLUSTER, container_instances=[instance_id]), timeout=10).container_instances
        return instances and instances[0].agent_connected

    agent = Agent(config, FakeRuntime())
    thread = run(agent)
    try:
        wait_until(lambda: agent.identity is not None and connected(agent.instance_id), 30,
                   message="the agent to join and connect")
        first = pki.identity_of(agent.identity.certificate_pem)
        assert first.name == agent.instance_id
        wait_until(lambda: pki.identity_of(agent.identity.certificate_pem).serial != first.serial,
                   40, interval=0.5, message="the certificate to be renewed")
        wait_until(lambda: connected(agent.instance_id), 20, message="connected after renewal")
    finally:
        agent.stop()
        thread.join(10)
    instance_id = agent.instance_id
    config.join_token = ""
    again = Agent(config, FakeRuntime())
    assert again.instance_id == instance_id
    thread = run(again)
    try:
        wait_until(lambda: connected(instance_id), 30, message="the restarted agent to connect")
    finally:
        again.stop()
        thread.join(10)
