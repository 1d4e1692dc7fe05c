"""Secrets: names and references, task definitions that name them, the sealed store, and their
way to a task's container (control plane → assignment → agent plan → runtime), on the
in-memory store and the fake runtime. The real path is in tests/integration/test_secrets.py."""

from __future__ import annotations

import json
import os

import pytest

from agent.engine import EngineConfig, TaskEngine
from agent.fake_runtime import FakeRuntime
from agent.session import task_plan
from controlplane import convert
from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import Keys
from controlplane.resources import ControlPlane
from controlplane.resources.secrets import SecretUnavailable
from controlplane.secretbox import SecretBox
from controlplane.secretnames import secret_arn, secret_reference
from controlplane.store import MemoryStore
from controlplane.taskdef import TaskDefinitionError, parse_task_definition
from controlplane.types import ContainerReport, ContainerSecrets
from skiffcore.status import StopCode, TaskStatus
from skiffharness.processes import wait_until

VALUE = "s3cr3t-" + os.urandom(8).hex()  # found nowhere but where it is meant to be
IMAGE = "127.0.0.1:5000/app:1"


def taskdef(**container) -> dict:
    return {"family": "web", "containerDefinitions": [dict(
        {"name": "app", "image": IMAGE, "memory": 64}, **container)]}


@pytest.fixture
def cp() -> ControlPlane:
    control_plane = ControlPlane(MemoryStore(), box=SecretBox(os.urandom(32)))
    control_plane.view.start()
    return control_plane


def placed_task(cp: ControlPlane, **container):
    record = cp.agents.register_instance("default", "i-1", "i-1", 2048, 2048, {}, "test")
    cp.agents.heartbeat("default", record.instance_id)
    cp.taskdefs.register_task_definition(taskdef(**container))
    tasks, failures = cp.tasks.run_task("default", "web", 1)
    assert not failures
    (task, spec), = cp.agents.assignments("default", "i-1").tasks
    return task, spec


# -- names and references -------------------------------------------------------------------

@pytest.mark.parametrize("value, name, ok", [
    ("db-password", "db-password", True),
    ("prod/db_pass+x=y.z@w", "prod/db_pass+x=y.z@w", True),
    (secret_arn("db"), "db", True),
    ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf", "db-AbCdEf", True),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db", "/prod/db", True),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/flat", "flat", True),
    (secret_arn("db") + ":password::", "db:password::", False),
    ("arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket/key", False),
    ("has space", "has space", False),
    ("", "", False),
    ("x" * 513, "x" * 513, False),
], ids=["name", "punctuation", "skiff-arn", "aws-secretsmanager-arn", "ssm-hierarchy", "ssm-flat",
        "json-key", "other-arn", "space", "empty", "too-long"])
def test_secret_reference(value, name, ok):
    found, problem = secret_reference(value)
    assert found == name
    assert (problem is None) == ok


# -- task definitions -----------------------------------------------------------------------

def test_a_task_definition_names_secrets_and_registry_credentials():
    spec = parse_task_definition(taskdef(
        environment=[{"name": "PLAIN", "value": "1"}],
        secrets=[{"name": "DB_PASSWORD", "valueFrom": "db"},
                 {"name": "TOKEN", "valueFrom": secret_arn("api/token")}],
        repositoryCredentials={"credentialsParameter": "registry-login"}))
    container = spec.containers[0]
    assert container.secrets == (("DB_PASSWORD", "db"), ("TOKEN", "api/token"))
    assert container.repository_credentials == "registry-login"
    assert spec.ignored_fields == ()


@pytest.mark.parametrize("container, message", [
    ({"secrets": [{"name": "A"}]}, "secrets[0].valueFrom: is required"),
    ({"secrets": [{"valueFrom": "a"}]}, "secrets[0].name: is required"),
    ({"secrets": [{"name": "A", "valueFrom": "a", "type": "x"}]},
     "secrets[0].type: unknown field"),
    ({"secrets": [{"name": "A=B", "valueFrom": "a"}]}, "secrets[0].name: must be an environment"),
    ({"secrets": [{"name": "A", "valueFrom": "no spaces"}]}, "secrets[0].valueFrom: a secret name"),
    ({"secrets": [{"name": "A", "valueFrom": secret_arn("a") + ":key::"}]},
     "secrets[0].valueFrom: JSON keys"),
    ({"secrets": {"A": "a"}}, "secrets: must be"),
    ({"environment": [{"name": "A", "value": "1"}], "secrets": [{"name": "A", "valueFrom": "a"}]},
     "secrets[0].name: A is set twice"),
    ({"repositoryCredentials": {}}, "repositoryCredentials.credentialsParameter: is required"),
    ({"repositoryCredentials": {"credentialsParameter": 1}},
     "repositoryCredentials.credentialsParameter: must be"),
], ids=["no-valueFrom", "no-name", "unknown-field", "bad-variable", "bad-name", "json-key",
        "not-a-list", "twice", "no-parameter", "parameter-not-a-string"])
def test_bad_secret_references_name_the_field(container, message):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(taskdef(**container))
    assert f"containerDefinitions[0].{message}" in str(caught.value)


# -- the sealed store -----------------------------------------------------------------------

def test_put_describe_list_delete_and_the_value_is_only_sealed(cp):
    created, new = cp.secrets.put("db", VALUE, "the database")
    assert new and created.arn == "arn:skiff:secretsmanager:local:000000000000:secret:db"
    updated, new = cp.secrets.put("db", VALUE + "2")
    assert not new and updated.description == "the database"  # kept when not given
    assert updated.created_at_ms == created.created_at_ms
    assert cp.secrets.describe(created.arn).name == "db"
    assert [s.name for s in cp.secrets.list()] == ["db"]
    stored = b"".join(e.key.encode() + e.value for e in cp.store.list(Keys.ROOT))
    assert VALUE.encode() not in stored and b"the database" in stored
    assert VALUE not in repr(updated)
    assert cp.secrets.delete("db").name == "db"
    with pytest.raises(NotFound, match="secret db does not exist"):
        cp.secrets.describe("db")


@pytest.mark.parametrize("name, value, field", [
    ("bad name", VALUE, "name"),
    ("ok", "", "value"),
    ("ok", "x" * (64 * 1024 + 1), "value"),
    ("ok", VALUE + "\0", "value"),
])
def test_bad_puts_name_the_field_and_never_echo_the_value(cp, name, value, field):
    with pytest.raises(InvalidParameter) as caught:
        cp.secrets.put(name, value)
    assert caught.value.field == field
    assert VALUE not in str(caught.value)
    assert cp.secrets.list() == []


def test_without_the_secrets_key_every_call_says_so():
    plain = ControlPlane(MemoryStore())
    for call in (lambda: plain.secrets.put("db", VALUE), plain.secrets.list,
                 lambda: plain.secrets.describe("db"), lambda: plain.secrets.delete("db")):
        with pytest.raises(InvalidParameter, match="no secrets key"):
            call()
    spec = parse_task_definition(taskdef(secrets=[{"name": "A", "valueFrom": "db"}]))
    with pytest.raises(SecretUnavailable, match="no secrets key"):
        plain.secrets.for_start(spec)


# -- resolution, for the task's agent only ------------------------------------------------

def test_a_starting_task_gets_its_secrets_and_login(cp):
    cp.secrets.put("db", VALUE)
    cp.secrets.put("login", json.dumps({"username": "puller", "password": VALUE}))
    task, spec = placed_task(cp, secrets=[{"name": "DB_PASSWORD", "valueFrom": "db"}],
                             repositoryCredentials={"credentialsParameter": secret_arn("login")})
    told, secrets = cp.agents.start_secrets(task, spec)
    assert told is task
    assert secrets == {"app": ContainerSecrets((("DB_PASSWORD", VALUE),), ("puller", VALUE))}
    assert VALUE not in repr(secrets)
    message = convert.assignment_pb(told, spec, secrets)
    assert [(s.name, s.value) for s in message.containers[0].secrets] == [("DB_PASSWORD", VALUE)]
    assert message.containers[0].repository_credentials.username == "puller"
    # What everyone else is told of the task (describe) carries only the reference.
    described = convert.task_definition_pb(cp.taskdefs.describe_task_definition("web"))
    assert VALUE not in str(described) and '"valueFrom": "db"' in described.document_json
    assert VALUE not in str(convert.task_pb(task))


def test_a_running_task_is_sent_no_secrets(cp):
    cp.secrets.put("db", VALUE)
    task, spec = placed_task(cp, secrets=[{"name": "DB_PASSWORD", "valueFrom": "db"}])
    running = cp.agents.report_task_state("default", "i-1", task.task_id, TaskStatus.RUNNING,
                                          [ContainerReport("app", TaskStatus.RUNNING)])
    assert cp.agents.start_secrets(running, spec) == (running, {})


@pytest.mark.parametrize("stored, message", [
    ({}, "secret db (DB_PASSWORD of container app) does not exist"),
    ({"db": VALUE, "login": VALUE},
     'secret login (repositoryCredentials of container app) must hold JSON {"username"'),
    ({"db": VALUE, "login": json.dumps({"username": "u"})},
     "secret login (repositoryCredentials of container app) must hold JSON"),
], ids=["missing", "login-not-json", "login-without-password"])
def test_a_task_whose_secret_cannot_be_had_fails_to_start_naming_it(cp, stored, message):
    for name, value in stored.items():
        cp.secrets.put(name, value)
    task, spec = placed_task(cp, secrets=[{"name": "DB_PASSWORD", "valueFrom": "db"}],
                             repositoryCredentials={"credentialsParameter": "login"})
    told, secrets = cp.agents.start_secrets(task, spec)
    assert secrets == {}
    assert told.desired == TaskStatus.STOPPED and told.stop_code == StopCode.TASK_FAILED_TO_START
    assert told.stopped_reason.startswith("ResourceInitializationError: unable to pull "
                                          "secrets or registry auth: " + message)
    assert VALUE not in told.stopped_reason
    assert cp.tasks.task("default", task.task_id).desired == TaskStatus.STOPPED
    assert convert.assignment_pb(told, spec, secrets).desired_status == TaskStatus.STOPPED


def test_the_agent_puts_secrets_in_the_environment_and_pulls_with_the_login(cp):
    cp.secrets.put("db", VALUE)
    cp.secrets.put("login", json.dumps({"username": "puller", "password": "pw"}))
    task, spec = placed_task(cp, environment=[{"name": "PLAIN", "value": "1"}],
                             secrets=[{"name": "DB_PASSWORD", "valueFrom": "db"}],
                             repositoryCredentials={"credentialsParameter": "login"})
    told, secrets = cp.agents.start_secrets(task, spec)
    message = convert.assignment_pb(told, spec, secrets)
    plan = task_plan(message, "default", "i-1")
    container_spec = plan.containers[0].spec
    assert container_spec.environment == (("PLAIN", "1"),)
    assert container_spec.secrets == (("DB_PASSWORD", VALUE),)
    assert VALUE not in repr(plan) and "pw" not in repr(container_spec)
    runtime = FakeRuntime()
    engine = TaskEngine(runtime, "i-1", lambda report: None, EngineConfig(poll_interval=0.01))
    engine.apply([plan])
    wait_until(lambda: runtime.specs, 5, message="the container created")
    assert runtime.pull_auth[IMAGE] == {"username": "puller", "password": "pw"}
    assert next(iter(runtime.specs.values())).secrets == (("DB_PASSWORD", VALUE),)
    engine.shutdown()
