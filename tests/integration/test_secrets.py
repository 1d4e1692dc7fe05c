"""Secrets end to end on the TLS stack (etcd, registry, control plane and agent as processes,
dockerd): a task gets a secret as an environment variable and pulls a private image with a
secret login; the value is then searched for everywhere else Skiff writes or answers, and
must be found only in the container (and Docker's own record of it on the node, as in ECS).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest

from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc
from skiffcore.contexts import Context, channel_for
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import wait_until
from skiffcore.status import TaskStatus
from tests.integration.harness import (SKIFF, context_for, controlplane_state, skiff,
                                       skiff_env, start_registry)
from tests.integration.test_private_registry import add_user

pytestmark = pytest.mark.integration

VALUE = f"planted-{uuid.uuid4().hex}"          # the environment variable's secret
PASSWORD = f"pull-{uuid.uuid4().hex}"          # the private registry's, kept as a secret too


def put_secret(stack, name: str, value: str, *extra: str) -> str:
    """`skiff secret put NAME` with the value on stdin, as a user types it."""
    done = subprocess.run([*SKIFF, "--endpoint", stack.endpoint, "secret", "put", name, *extra],
                          input=value + "\n", capture_output=True, text=True,
                          env=skiff_env(stack.endpoint))
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def container_of(task_id: str, name: str) -> str:
    return f"skiff-{task_id}-{name}"


def files_holding(root: Path, needle: bytes) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(str(path))
        except OSError:  # a socket, or a file that went away meanwhile
            continue
    return found


def test_a_secret_reaches_its_container_and_nothing_else(stack, etcd_endpoint, tmp_path,
                                                         tmp_path_factory):
    api, cluster = stack.client.api, stack.client.cluster
    # A private registry the agent has no login for: only the task's secret lets it pull.
    auth_file = tmp_path / "auth.json"
    add_user(auth_file, "pusher", PASSWORD + "-push", "*=pull,push")
    add_user(auth_file, "puller", PASSWORD, "*=pull")
    registry, address = start_registry(tmp_path / "registry", stack.base, "--auth-file",
                                       str(auth_file))
    try:
        private = f"{address}/team/secret-app:1"
        build_busybox_image(private)
        docker_config = str(tmp_path / "docker-config")
        login = subprocess.run(["docker", "--config", docker_config, "login", address, "-u",
                                "pusher", "--password-stdin"], input=PASSWORD + "-push",
                               text=True, capture_output=True)
        assert login.returncode == 0, login.stderr
        docker_cli("--config", docker_config, "push", private)
        docker_cli("rmi", private)

        assert "created secret db-password" in put_secret(stack, "db-password", VALUE,
                                                         "--description", "the database")
        put_secret(stack, "registry/login", json.dumps({"username": "puller",
                                                        "password": PASSWORD}))
        document = {"family": "secret-app", "containerDefinitions": [{
            "name": "main", "image": private, "memory": 32,
            "command": ["sh", "-c", 'echo "seen=$DB_PASSWORD"; exec sleep 600'],
            "linuxParameters": {"initProcessEnabled": True},
            "environment": [{"name": "PLAIN", "value": "visible"}],
            "secrets": [{"name": "DB_PASSWORD",
                         "valueFrom": "arn:skiff:secretsmanager:local:000000000000:secret:"
                                      "db-password"}],
            "repositoryCredentials": {"credentialsParameter": "registry/login"}}]}
        td = stack.client.register(json.dumps(document))
        task = stack.client.run(f"{td.family}:{td.revision}").tasks[0]
        running = stack.client.wait_status(task.task_id, "RUNNING", timeout=90)

        # Where it is meant to be: the container's environment (Docker's record of it on the
        # node, as on an ECS instance) and what the container itself printed.
        name = container_of(running.task_id, "main")
        env = json.loads(docker_cli("inspect", "--format", "{{json .Config.Env}}", name).stdout)
        assert f"DB_PASSWORD={VALUE}" in env and "PLAIN=visible" in env
        logs = wait_until(lambda: (out := subprocess.run(
            ["docker", "logs", name], capture_output=True, text=True).stdout) and out, 30,
            message="the container's output")
        assert f"seen={VALUE}" in logs

        # A service of the same definition, and a task naming a secret that does not exist.
        api.CreateService(pb.CreateServiceRequest(
            cluster=cluster, service_name="secret-svc", task_definition=td.task_definition_arn,
            desired_count=1), timeout=10)
        missing = dict(document, family="secret-missing")
        missing["containerDefinitions"] = [dict(document["containerDefinitions"][0],
                                                secrets=[{"name": "X", "valueFrom": "nope"}])]
        td_missing = stack.client.register(json.dumps(missing))
        failed = stack.client.run(f"{td_missing.family}:{td_missing.revision}").tasks[0]
        stopped = stack.client.wait_status(failed.task_id, "STOPPED", timeout=60)
        assert stopped.stop_code == "TaskFailedToStart"
        assert "secret nope (X of container main) does not exist" in stopped.stopped_reason
        wait_until(lambda: any(t.last_status == TaskStatus.RUNNING for t in stack.client.tasks()
                               if t.group == "service:secret-svc"), 90,
                   message="the service's task running")

        # Everywhere else: every answer about the task, its definition, the service, the
        # secrets; then every file of the test session (every component's log, etcd's data
        # and WAL, the registry, the agents' state) and the control plane's state dir; then
        # etcd's whole keyspace as a client reads it.
        answers = [
            api.DescribeTasks(pb.DescribeTasksRequest(cluster=cluster, tasks=[
                running.task_id, stopped.task_id]), timeout=10),
            api.ListTasks(pb.ListTasksRequest(cluster=cluster), timeout=10),
            api.DescribeTaskDefinition(pb.DescribeTaskDefinitionRequest(
                task_definition=td.task_definition_arn), timeout=10),
            api.DescribeServices(pb.DescribeServicesRequest(cluster=cluster,
                                                            services=["secret-svc"]), timeout=10),
            api.ListSecrets(pb.ListSecretsRequest(), timeout=10),
            api.DescribeSecret(pb.DescribeSecretRequest(name="db-password"), timeout=10),
            api.ExportSnapshot(pb.ExportSnapshotRequest(cluster=cluster), timeout=10),
        ]
        for answer in answers:
            for secret in (VALUE, PASSWORD):
                assert secret not in str(answer), type(answer).__name__
        described = answers[3].services[0]
        assert described.events, "the service said nothing"
        assert '"valueFrom": "arn:skiff:secretsmanager' in answers[2].task_definition.document_json
        assert answers[5].secret.description == "the database"
        for args in (("secret", "ls", "--json"), ("secret", "describe", "db-password"),
                     ("task", "describe", running.task_id, "--cluster", cluster, "--json"),
                     ("taskdef", "describe", td.task_definition_arn, "--json")):
            shown = skiff(stack.endpoint, *args)
            assert shown.returncode == 0, shown.stderr
            assert VALUE not in shown.stdout + shown.stderr
            assert PASSWORD not in shown.stdout + shown.stderr

        # (The search does see etcd's files: the secret's key is in them.)
        assert any("etcd" in f for f in files_holding(tmp_path_factory.getbasetemp(),
                                                       b"/skiff/v1/secrets/db-password"))
        for root in (tmp_path_factory.getbasetemp(), controlplane_state(etcd_endpoint)):
            for secret in (VALUE, PASSWORD):
                assert files_holding(root, secret.encode()) == [], secret
        keyspace = subprocess.run(["etcdctl", "--endpoints", etcd_endpoint, "get", "",
                                   "--prefix"], capture_output=True, check=True).stdout
        assert b"/skiff/v1/secrets/db-password" in keyspace
        assert VALUE.encode() not in keyspace and PASSWORD.encode() not in keyspace

        # Gone: a task starting now fails, naming it; the running one keeps what it got.
        skiff(stack.endpoint, "secret", "rm", "db-password", check=True)
        again = stack.client.run(f"{td.family}:{td.revision}").tasks[0]
        refused = stack.client.wait_status(again.task_id, "STOPPED", timeout=60)
        assert "secret db-password (DB_PASSWORD of container main) does not exist" in \
            refused.stopped_reason
        assert stack.client.describe(running.task_id).last_status == TaskStatus.RUNNING
    finally:
        try:
            api.DeleteService(pb.DeleteServiceRequest(cluster=cluster, service="secret-svc",
                                                      force=True), timeout=10)
        except grpc.RpcError:  # not made: the test failed before
            pass
        registry.stop()


def test_secret_commands_say_what_is_wrong(stack):
    shown = skiff(stack.endpoint, "secret", "describe", "no such")
    assert shown.returncode != 0 and "name: a secret name is" in shown.stderr
    shown = skiff(stack.endpoint, "secret", "rm", "absent")
    assert shown.returncode != 0 and "secret absent does not exist" in shown.stderr


def test_viewers_read_metadata_and_only_operators_put(stack):
    made = stack.client.api.CreateUser(pb.CreateUserRequest(name="secret-viewer", role="viewer"),
                                       timeout=10)
    channel = channel_for(Context(stack.endpoint, context_for(stack.endpoint).ca, made.token))
    viewer = controlplane_pb2_grpc.ControlPlaneStub(channel)
    put_secret(stack, "for-viewers", VALUE)
    listed = viewer.ListSecrets(pb.ListSecretsRequest(), timeout=10)
    assert "for-viewers" in [s.name for s in listed.secrets] and VALUE not in str(listed)
    for call in (lambda: viewer.PutSecret(pb.PutSecretRequest(name="x", value="y"), timeout=10),
                 lambda: viewer.DeleteSecret(pb.DeleteSecretRequest(name="for-viewers"),
                                             timeout=10)):
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    channel.close()
