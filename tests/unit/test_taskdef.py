"""Unit tests for controlplane.taskdef: ECS task definition parsing and validation (pure)."""

from __future__ import annotations

import copy
import pickle

import pytest

from controlplane.taskdef import (
    ECS_CONTAINER_DEFINITION_FIELDS,
    ECS_TASK_DEFINITION_FIELDS,
    ContainerDefinition,
    ContainerDependency,
    FieldError,
    HealthCheck,
    PortMapping,
    RestartPolicy,
    TaskDefinitionError,
    TaskDefinitionSpec,
    parse_task_definition,
)

# A realistic task definition as used with `aws ecs register-task-definition --cli-input-json`.
NGINX_ECS_JSON = {
    "family": "web-frontend",
    "taskRoleArn": "arn:aws:iam::123456789012:role/webTaskRole",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "networkMode": "bridge",
    "requiresCompatibilities": ["EC2"],
    "cpu": "1 vCPU",
    "memory": "1 GB",
    "containerDefinitions": [
        {
            "name": "nginx",
            "image": "public.ecr.aws/nginx/nginx:1.27-alpine",
            "cpu": 512,
            "memory": 512,
            "memoryReservation": 256,
            "essential": True,
            "portMappings": [
                {"containerPort": 80, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"},
                {"containerPort": 443},
            ],
            "environment": [
                {"name": "NGINX_HOST", "value": "example.com"},
                {"name": "NGINX_PORT", "value": "80"},
            ],
            "mountPoints": [{"sourceVolume": "html", "containerPath": "/usr/share/nginx/html", "readOnly": True}],
            "volumesFrom": [],
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 10,
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/web-frontend",
                    "awslogs-region": "eu-west-1",
                    "awslogs-stream-prefix": "nginx",
                },
            },
            "dockerLabels": {"com.example.team": "web"},
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"add": ["NET_ADMIN"]}},
            "workingDirectory": "/usr/share/nginx",
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        },
        {
            "name": "log-router",
            "image": "busybox@sha256:" + "ab" * 32,
            "essential": False,
            "memoryReservation": 64,
            "entryPoint": ["sh", "-c"],
            "command": ["tail -F /var/log/nginx/access.log"],
            "dependsOn": [{"containerName": "nginx", "condition": "START"}],
        },
    ],
    "volumes": [{"name": "html", "host": {"sourcePath": "/srv/html"}}],
    "placementConstraints": [],
    "tags": [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}],
}


def doc(**top) -> dict:
    """A minimal valid document, with top-level overrides (a value of ... removes the key)."""
    base = {
        "family": "app",
        "containerDefinitions": [{"name": "app", "image": "busybox:1.36", "memory": 64}],
    }
    base.update(top)
    return {k: v for k, v in base.items() if v is not ...}


def one(**container) -> dict:
    """A minimal valid document with one container, with container-level overrides."""
    base = {"name": "app", "image": "busybox:1.36", "memory": 64}
    base.update(container)
    return doc(containerDefinitions=[{k: v for k, v in base.items() if v is not ...}])


def two(first: dict, second: dict, **top) -> dict:
    base = {"name": "a", "image": "busybox", "memory": 64}
    containers = [{**base, **first}, {**base, "name": "b", **second}]
    return doc(containerDefinitions=[{k: v for k, v in c.items() if v is not ...} for c in containers], **top)


def errors_of(document) -> list[FieldError]:
    with pytest.raises(TaskDefinitionError) as excinfo:
        parse_task_definition(document)
    return list(excinfo.value.errors)


# --------------------------------------------------------------------------------------------
# The realistic document.


def test_realistic_ecs_document_parses():
    spec = parse_task_definition(NGINX_ECS_JSON)
    assert spec.family == "web-frontend"
    assert spec.network_mode == "bridge"
    assert spec.cpu == 1024
    assert spec.memory == 1024
    nginx, router = spec.containers
    assert nginx == ContainerDefinition(
        name="nginx",
        image="public.ecr.aws/nginx/nginx:1.27-alpine",
        cpu=512,
        memory=512,
        memory_reservation=256,
        essential=True,
        environment=(("NGINX_HOST", "example.com"), ("NGINX_PORT", "80")),
        port_mappings=(PortMapping(80, 8080, "tcp"), PortMapping(443, 0, "tcp")),
        working_directory="/usr/share/nginx",
        docker_labels=(("com.example.team", "web"),),
        init_process_enabled=True,
        health_check=HealthCheck(
            command=("CMD-SHELL", "curl -f http://localhost/ || exit 1"),
            interval=30, timeout=5, retries=3, start_period=10,
        ),
    )
    assert router.essential is False
    assert router.depends_on == (ContainerDependency("nginx", "START"),)
    assert router.entry_point == ("sh", "-c")
    assert router.command == ("tail -F /var/log/nginx/access.log",)
    assert router.cpu == 0
    assert router.reserved_memory == 64
    assert spec.required_cpu == 1024
    assert spec.required_memory == 1024
    assert spec.fixed_host_ports == ((8080, "tcp"),)


def test_realistic_ecs_document_reports_ignored_fields_in_document_order():
    spec = parse_task_definition(NGINX_ECS_JSON)
    assert spec.ignored_fields == (
        "taskRoleArn",
        "executionRoleArn",
        "requiresCompatibilities",
        "containerDefinitions[0].portMappings[0].name",
        "containerDefinitions[0].portMappings[0].appProtocol",
        "containerDefinitions[0].mountPoints",
        # volumesFrom is [] and asks for nothing: not reported
        "containerDefinitions[0].logConfiguration",
        "containerDefinitions[0].linuxParameters.capabilities",
        "containerDefinitions[0].ulimits",
        "volumes",
        # placementConstraints is []: not reported
        "tags",
    )


def test_raw_document_is_a_deep_copy_and_not_part_of_equality():
    document = copy.deepcopy(NGINX_ECS_JSON)
    spec = parse_task_definition(document)
    assert spec.raw_document == NGINX_ECS_JSON
    document["containerDefinitions"][0]["healthCheck"]["retries"] = 99
    assert spec.raw_document["containerDefinitions"][0]["healthCheck"]["retries"] == 3
    again = parse_task_definition(NGINX_ECS_JSON)
    assert again == spec
    assert hash(again) == hash(spec)


def test_input_document_is_not_modified():
    document = copy.deepcopy(NGINX_ECS_JSON)
    parse_task_definition(document)
    assert document == NGINX_ECS_JSON


def test_known_field_sets_come_from_the_ecs_model():
    assert {"family", "containerDefinitions", "volumes", "enableFaultInjection", "runtimePlatform"} <= (
        ECS_TASK_DEFINITION_FIELDS
    )
    assert len(ECS_TASK_DEFINITION_FIELDS) == 18
    assert {"healthCheck", "dependsOn", "restartPolicy", "versionConsistency", "credentialSpecs"} <= (
        ECS_CONTAINER_DEFINITION_FIELDS
    )
    assert len(ECS_CONTAINER_DEFINITION_FIELDS) == 42
    # describe-task-definition output keys are not part of the register request
    assert not {"taskDefinitionArn", "revision", "status", "compatibilities"} & ECS_TASK_DEFINITION_FIELDS


# --------------------------------------------------------------------------------------------
# Defaults and accepted forms.


def test_defaults():
    spec = parse_task_definition(one(portMappings=[{"containerPort": 8080}]))
    assert spec.network_mode == "bridge"
    assert spec.cpu is None and spec.memory is None
    assert spec.ignored_fields == ()
    (container,) = spec.containers
    assert container.essential is True
    assert container.cpu == 0
    assert container.init_process_enabled is False
    assert container.working_directory is None
    assert container.port_mappings == (PortMapping(container_port=8080, host_port=0, protocol="tcp"),)
    assert spec.fixed_host_ports == ()
    assert spec.required_cpu == 0
    assert spec.required_memory == 64


def test_required_resources_without_task_level_values():
    spec = parse_task_definition(
        two({"cpu": 256, "memory": 512, "memoryReservation": 128}, {"cpu": 128, "memory": 100})
    )
    assert spec.required_cpu == 384
    assert spec.required_memory == 228  # memoryReservation where set, else memory


@pytest.mark.parametrize(
    ("cpu", "memory", "want_cpu", "want_memory"),
    [
        ("256", "512", 256, 512),
        (256, 512, 256, 512),
        (" 1024 ", "2048", 1024, 2048),
        ("1 vCPU", "2 GB", 1024, 2048),
        ("1 vcpu", "1GB", 1024, 1024),
        ("2vCPU", "3 gb", 2048, 3072),
        (".25 vCPU", "0.5 GB", 256, 512),
        ("0.5 vCPU", "1.5 GB", 512, 1536),
        ("128", "6", 128, 6),
        ("192 vCPU", "1024", 196608, 1024),
    ],
    ids=[
        "int-strings",
        "ints",
        "whitespace",
        "vcpu-gb",
        "lowercase-no-space",
        "2vcpu-3gb",
        "fractional-leading-dot",
        "fractional",
        "minimums",
        "max-cpu",
    ],
)
def test_task_level_cpu_and_memory_forms(cpu, memory, want_cpu, want_memory):
    spec = parse_task_definition(doc(cpu=cpu, memory=memory, containerDefinitions=[{"name": "a", "image": "busybox"}]))
    assert (spec.cpu, spec.memory) == (want_cpu, want_memory)
    assert (spec.required_cpu, spec.required_memory) == (want_cpu, want_memory)


def test_task_level_memory_makes_container_memory_optional():
    spec = parse_task_definition(doc(memory="512", containerDefinitions=[{"name": "a", "image": "busybox"}]))
    assert spec.containers[0].memory is None
    assert spec.containers[0].reserved_memory == 0
    assert spec.required_memory == 512


@pytest.mark.parametrize(
    ("port_mapping", "want"),
    [
        ({"containerPort": 80}, PortMapping(80, 80, "tcp")),
        ({"containerPort": 53, "protocol": "udp"}, PortMapping(53, 53, "udp")),
        ({"containerPort": 8080, "hostPort": 8080}, PortMapping(8080, 8080, "tcp")),
    ],
    ids=["absent-means-container-port", "udp", "equal-to-container-port"],
)
def test_host_mode_host_port(port_mapping, want):
    spec = parse_task_definition(doc(networkMode="host", containerDefinitions=[
        {"name": "a", "image": "busybox", "memory": 64, "portMappings": [port_mapping]}
    ]))
    assert spec.network_mode == "host"
    assert spec.containers[0].port_mappings == (want,)
    assert spec.fixed_host_ports == ((want.host_port, want.protocol),)


@pytest.mark.parametrize(
    ("port_mapping", "want"),
    [
        ({"containerPort": 80}, PortMapping(80, 0, "tcp")),
        ({"containerPort": 80, "hostPort": 0}, PortMapping(80, 0, "tcp")),
        ({"containerPort": 80, "hostPort": 8080}, PortMapping(80, 8080, "tcp")),
        ({"containerPort": 53, "hostPort": 5353, "protocol": "udp"}, PortMapping(53, 5353, "udp")),
    ],
    ids=["absent-is-dynamic", "zero-is-dynamic", "fixed", "udp"],
)
def test_bridge_mode_host_port(port_mapping, want):
    spec = parse_task_definition(one(portMappings=[port_mapping]))
    assert spec.containers[0].port_mappings == (want,)


def test_same_fixed_host_port_with_different_protocols_is_fine():
    spec = parse_task_definition(
        two(
            {"portMappings": [{"containerPort": 53, "hostPort": 53, "protocol": "tcp"}]},
            {"portMappings": [{"containerPort": 53, "hostPort": 53, "protocol": "udp"}]},
        )
    )
    assert spec.fixed_host_ports == ((53, "tcp"), (53, "udp"))


def test_dynamic_ports_never_collide():
    spec = parse_task_definition(
        two({"portMappings": [{"containerPort": 80}]}, {"portMappings": [{"containerPort": 80, "hostPort": 0}]})
    )
    assert spec.fixed_host_ports == ()


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "library/nginx:latest",
        "docker.io/library/nginx:1.27-alpine",
        "localhost:5000/skiff/busybox:1",
        "127.0.0.1:5000/busybox",
        "[::1]:5000/team/app:v2",
        "registry.example.com/team/app_x__y.z-w:v1.0-rc.1",
        "Registry.Example.com/team/app",
        "nginx@sha256:" + "0123456789abcdef" * 4,
        "quay.io/org/app:v1@sha256:" + "f" * 64,
        "nginx:" + "t" * 128,
    ],
    ids=[
        "bare",
        "tag",
        "library",
        "registry-path-tag",
        "localhost-port",
        "ipv4-port",
        "ipv6-port",
        "separators",
        "uppercase-registry-host",
        "digest",
        "tag-and-digest",
        "longest-tag",
    ],
)
def test_valid_image_references(image):
    assert parse_task_definition(one(image=image)).containers[0].image == image


def test_environment_value_defaults_to_empty_and_labels_keep_order():
    spec = parse_task_definition(
        one(environment=[{"name": "EMPTY"}, {"name": "X", "value": "1"}], dockerLabels={"b": "2", "a": "1"})
    )
    assert spec.containers[0].environment == (("EMPTY", ""), ("X", "1"))
    assert spec.containers[0].docker_labels == (("b", "2"), ("a", "1"))


@pytest.mark.parametrize(
    ("linux_parameters", "want_init", "want_ignored"),
    [
        ({"initProcessEnabled": True}, True, ()),
        ({"initProcessEnabled": False}, False, ()),
        ({}, False, ()),
        (
            {"capabilities": {"drop": ["ALL"]}, "sharedMemorySize": 64, "tmpfs": []},
            False,
            (
                "containerDefinitions[0].linuxParameters.capabilities",
                "containerDefinitions[0].linuxParameters.sharedMemorySize",
            ),
        ),
    ],
    ids=["init-true", "init-false", "empty", "other-sub-fields-ignored"],
)
def test_linux_parameters(linux_parameters, want_init, want_ignored):
    spec = parse_task_definition(one(linuxParameters=linux_parameters))
    assert spec.containers[0].init_process_enabled is want_init
    assert spec.ignored_fields == want_ignored


def test_every_known_top_level_and_container_field_is_accepted():
    samples = {"string": "x", "list": ["x"], "object": {"x": "y"}, "boolean": True, "integer": 1}
    from controlplane import taskdef

    top = {k: samples[kind] for k, kind in taskdef._TASK_FIELD_KINDS.items()}
    container = {k: samples[kind] for k, kind in taskdef._CONTAINER_FIELD_KINDS.items()}
    container.update(name="app", image="busybox", cpu=1, memory=64, memoryReservation=32, command=["x"],
                     entryPoint=["x"], environment=[{"name": "A", "value": "b"}],
                     portMappings=[{"containerPort": 1}], dockerLabels={"a": "b"},
                     linuxParameters={"initProcessEnabled": True},
                     healthCheck={"command": ["CMD", "true"]}, dependsOn=[], stopTimeout=30,
                     restartPolicy={"enabled": False}, secrets=[{"name": "S", "valueFrom": "s"}],
                     repositoryCredentials={"credentialsParameter": "login"})
    top.update(family="f", networkMode="bridge", cpu="128", memory="64", containerDefinitions=[container],
               placementConstraints=[{"type": "memberOf", "expression": "attribute:zone == a"}])
    spec = parse_task_definition(top)
    ignored_top = {f for f in spec.ignored_fields if not f.startswith("containerDefinitions")}
    ignored_container = {
        f.removeprefix("containerDefinitions[0].")
        for f in spec.ignored_fields
        if f.startswith("containerDefinitions")
    }
    assert ignored_top == ECS_TASK_DEFINITION_FIELDS - {"family", "containerDefinitions", "cpu", "memory",
                                                        "networkMode", "placementConstraints"}
    assert ignored_container == ECS_CONTAINER_DEFINITION_FIELDS - {
        "name", "image", "cpu", "memory", "memoryReservation", "essential", "command", "entryPoint",
        "environment", "portMappings", "workingDirectory", "dockerLabels", "linuxParameters",
        "healthCheck", "dependsOn", "stopTimeout", "restartPolicy", "secrets", "repositoryCredentials",
    }


# --------------------------------------------------------------------------------------------
# Rejections: every case names the exact path of the (first) error.

DIGEST = "sha256:" + "a" * 64

REJECTIONS = [
    # (id, document, expected path, substring of the message)
    ("not-an-object", ["family"], "(document)", "must be a JSON object"),
    ("family-missing", doc(family=...), "family", "is required"),
    ("family-empty", doc(family=""), "family", "1-255 letters"),
    ("family-space", doc(family="my app"), "family", "1-255 letters"),
    ("family-colon", doc(family="app:1"), "family", "1-255 letters"),
    ("family-too-long", doc(family="a" * 256), "family", "1-255 letters"),
    ("family-not-string", doc(family=7), "family", "must be a string, got 7"),
    ("containers-missing", doc(containerDefinitions=...), "containerDefinitions", "is required"),
    ("containers-empty", doc(containerDefinitions=[]), "containerDefinitions", "at least one"),
    ("containers-not-list", doc(containerDefinitions={"name": "a"}), "containerDefinitions", "must be a list"),
    ("container-not-object", doc(containerDefinitions=["busybox"]), "containerDefinitions[0]", "must be an object"),
    (
        "too-many-containers",
        doc(containerDefinitions=[{"name": f"c{i}", "image": "busybox", "memory": 6} for i in range(11)]),
        "containerDefinitions",
        "at most 10",
    ),
    ("no-essential", two({"essential": False}, {"essential": False}), "containerDefinitions", "essential"),
    ("duplicate-names", two({"name": "web"}, {"name": "web"}), "containerDefinitions[1].name", "duplicate container name 'web'"),
    ("name-missing", one(name=...), "containerDefinitions[0].name", "is required"),
    ("name-bad-chars", one(name="web.1"), "containerDefinitions[0].name", "1-255 letters"),
    ("name-too-long", one(name="n" * 256), "containerDefinitions[0].name", "1-255 letters"),
    ("image-missing", one(image=...), "containerDefinitions[0].image", "is required"),
    ("image-empty", one(image=""), "containerDefinitions[0].image", "must not be empty"),
    ("image-space", one(image="nginx latest"), "containerDefinitions[0].image", "whitespace"),
    ("image-upper-repo", one(image="Nginx:1.27"), "containerDefinitions[0].image", "lower case"),
    ("image-upper-path", one(image="registry.example.com/Team/app"), "containerDefinitions[0].image", "lower case"),
    ("image-double-colon", one(image="nginx::1"), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-empty-tag", one(image="nginx:"), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-tag-dash-first", one(image="nginx:-1"), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-tag-too-long", one(image="nginx:" + "t" * 129), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-trailing-slash", one(image="team/"), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-double-dot", one(image="a..b"), "containerDefinitions[0].image", "not a valid image reference"),
    ("image-short-digest", one(image="nginx@sha256:abc"), "containerDefinitions[0].image", "64 lower-case hex"),
    ("image-md5-digest", one(image="nginx@md5:" + "a" * 32), "containerDefinitions[0].image", "sha256"),
    ("image-name-too-long", one(image="a" * 256), "containerDefinitions[0].image", "at most 255"),
    ("image-not-string", one(image=["nginx"]), "containerDefinitions[0].image", "must be a string"),
    ("cpu-negative", one(cpu=-1), "containerDefinitions[0].cpu", "at least 0"),
    ("cpu-string", one(cpu="abc"), "containerDefinitions[0].cpu", "must be an integer, got 'abc'"),
    ("cpu-numeric-string", one(cpu="256"), "containerDefinitions[0].cpu", "must be an integer, got '256'"),
    ("cpu-bool", one(cpu=True), "containerDefinitions[0].cpu", "must be an integer, got true"),
    ("cpu-float", one(cpu=1.5), "containerDefinitions[0].cpu", "must be an integer, got 1.5"),
    ("cpu-null", one(cpu=None), "containerDefinitions[0].cpu", "must be an integer, got null"),
    ("memory-zero", one(memory=0), "containerDefinitions[0].memory", "at least 6"),
    ("memory-below-docker-minimum", one(memory=5), "containerDefinitions[0].memory", "at least 6"),
    ("memory-string", one(memory="512"), "containerDefinitions[0].memory", "must be an integer"),
    ("reservation-zero", one(memory=..., memoryReservation=0), "containerDefinitions[0].memoryReservation", "at least 1"),
    (
        "reservation-above-memory",
        one(memory=128, memoryReservation=256),
        "containerDefinitions[0].memoryReservation",
        "must not exceed memory (128 MiB), got 256",
    ),
    ("no-memory-anywhere", one(memory=...), "containerDefinitions[0].memory", "memory or memoryReservation is required"),
    ("essential-string", one(essential="true"), "containerDefinitions[0].essential", "must be a boolean"),
    ("command-string", one(command="nginx -g daemon off;"), "containerDefinitions[0].command", "must be a list"),
    ("command-item-int", one(command=["sleep", 10]), "containerDefinitions[0].command[1]", "must be a string, got 10"),
    ("entrypoint-item-null", one(entryPoint=["sh", None]), "containerDefinitions[0].entryPoint[1]", "got null"),
    ("working-dir-list", one(workingDirectory=["/"]), "containerDefinitions[0].workingDirectory", "must be a string"),
    ("environment-object", one(environment={"A": "b"}), "containerDefinitions[0].environment", "must be a list"),
    ("environment-entry-string", one(environment=["A=b"]), "containerDefinitions[0].environment[0]", "must be an object"),
    ("environment-name-missing", one(environment=[{"value": "b"}]), "containerDefinitions[0].environment[0].name", "is required"),
    ("environment-name-empty", one(environment=[{"name": "", "value": "b"}]), "containerDefinitions[0].environment[0].name", "empty"),
    ("environment-value-int", one(environment=[{"name": "A", "value": 1}]), "containerDefinitions[0].environment[0].value", "must be a string, got 1"),
    (
        "environment-unknown-key",
        one(environment=[{"name": "A", "Value": "b"}]),
        "containerDefinitions[0].environment[0].Value",
        "did you mean 'value'",
    ),
    ("labels-list", one(dockerLabels=["a=b"]), "containerDefinitions[0].dockerLabels", "must be an object"),
    ("labels-value-int", one(dockerLabels={"a": 1}), 'containerDefinitions[0].dockerLabels["a"]', "must be a string"),
    ("init-process-string", one(linuxParameters={"initProcessEnabled": "yes"}), "containerDefinitions[0].linuxParameters.initProcessEnabled", "must be a boolean"),
    ("linux-parameters-unknown", one(linuxParameters={"init": True}), "containerDefinitions[0].linuxParameters.init", "unknown field"),
    ("port-mappings-object", one(portMappings={"containerPort": 80}), "containerDefinitions[0].portMappings", "must be a list"),
    ("port-mapping-not-object", one(portMappings=[80]), "containerDefinitions[0].portMappings[0]", "must be an object"),
    ("container-port-missing", one(portMappings=[{"hostPort": 80}]), "containerDefinitions[0].portMappings[0].containerPort", "is required"),
    (
        "container-port-range-only",
        one(portMappings=[{"containerPortRange": "8000-8010"}]),
        "containerDefinitions[0].portMappings[0].containerPort",
        "containerPortRange",
    ),
    ("container-port-zero", one(portMappings=[{"containerPort": 0}]), "containerDefinitions[0].portMappings[0].containerPort", "between 1 and 65535, got 0"),
    ("container-port-high", one(portMappings=[{"containerPort": 65536}]), "containerDefinitions[0].portMappings[0].containerPort", "between 1 and 65535"),
    ("container-port-string", one(portMappings=[{"containerPort": "80"}]), "containerDefinitions[0].portMappings[0].containerPort", "must be an integer, got '80'"),
    ("host-port-high", one(portMappings=[{"containerPort": 80, "hostPort": 70000}]), "containerDefinitions[0].portMappings[0].hostPort", "must be between 0 and 65535, got 70000"),
    ("host-port-negative", one(portMappings=[{"containerPort": 80, "hostPort": -1}]), "containerDefinitions[0].portMappings[0].hostPort", "between 0 and 65535"),
    ("protocol-sctp", one(portMappings=[{"containerPort": 80, "protocol": "sctp"}]), "containerDefinitions[0].portMappings[0].protocol", "tcp, udp"),
    ("protocol-upper", one(portMappings=[{"containerPort": 80, "protocol": "TCP"}]), "containerDefinitions[0].portMappings[0].protocol", "tcp, udp"),
    ("port-mapping-unknown-key", one(portMappings=[{"containerPort": 80, "hostIp": "0.0.0.0"}]), "containerDefinitions[0].portMappings[0].hostIp", "unknown field"),
    (
        "duplicate-fixed-host-port",
        two({"portMappings": [{"containerPort": 80, "hostPort": 8080}]}, {"portMappings": [{"containerPort": 81, "hostPort": 8080}]}),
        "containerDefinitions[1].portMappings[0].hostPort",
        "host port 8080/tcp is already mapped by containerDefinitions[0].portMappings[0]",
    ),
    (
        "duplicate-fixed-host-port-same-container",
        one(portMappings=[{"containerPort": 53, "hostPort": 53, "protocol": "udp"}, {"containerPort": 54, "hostPort": 53, "protocol": "udp"}]),
        "containerDefinitions[0].portMappings[1].hostPort",
        "53/udp",
    ),
    (
        "host-mode-host-port-differs",
        one(portMappings=[{"containerPort": 80, "hostPort": 8080}]) | {"networkMode": "host"},
        "containerDefinitions[0].portMappings[0].hostPort",
        "equal to containerPort (80), got 8080",
    ),
    (
        "host-mode-host-port-zero",
        one(portMappings=[{"containerPort": 80, "hostPort": 0}]) | {"networkMode": "host"},
        "containerDefinitions[0].portMappings[0].hostPort",
        "equal to containerPort (80), got 0",
    ),
    (
        "host-mode-duplicate-container-ports",
        two({"portMappings": [{"containerPort": 80}]}, {"portMappings": [{"containerPort": 80}]}, networkMode="host"),
        "containerDefinitions[1].portMappings[0].hostPort",
        "80/tcp is already mapped",
    ),
    ("network-awsvpc", doc(networkMode="awsvpc"), "networkMode", "Skiff does not support network mode 'awsvpc'"),
    ("network-none", doc(networkMode="none"), "networkMode", "Skiff does not support network mode 'none'"),
    ("network-unknown", doc(networkMode="overlay"), "networkMode", "must be one of bridge, host, awsvpc, none"),
    ("network-not-string", doc(networkMode=1), "networkMode", "must be a string"),
    ("unknown-top-level", doc(replicas=3), "replicas", "unknown field"),
    ("top-level-wrong-case", doc(Family="x"), "Family", "did you mean 'family'"),
    ("describe-output-arn", doc(taskDefinitionArn="arn:aws:ecs:eu-west-1:1:task-definition/app:1"), "taskDefinitionArn", "unknown field"),
    ("describe-output-revision", doc(revision=3), "revision", "unknown field"),
    ("describe-output-status", doc(status="ACTIVE"), "status", "unknown field"),
    ("describe-output-compatibilities", doc(compatibilities=["EC2"]), "compatibilities", "unknown field"),
    ("describe-output-requires-attributes", doc(requiresAttributes=[]), "requiresAttributes", "unknown field"),
    ("unknown-container-field", one(replicas=2), "containerDefinitions[0].replicas", "unknown field"),
    ("container-field-wrong-case", one(Image="busybox"), "containerDefinitions[0].Image", "did you mean 'image'"),
    ("ignored-top-level-wrong-type", doc(volumes={"name": "v"}), "volumes", "must be a list"),
    ("ignored-top-level-null", doc(tags=None), "tags", "must be a list, got null"),
    ("ignored-container-wrong-type", one(logConfiguration=["awslogs"]), "containerDefinitions[0].logConfiguration", "must be an object"),
    ("ignored-container-bool-wrong-type", one(privileged="false"), "containerDefinitions[0].privileged", "must be a boolean"),
    ("task-cpu-garbage", doc(cpu="lots"), "cpu", "got 'lots'"),
    ("task-cpu-zero", doc(cpu="0"), "cpu", "between 128 and 196608"),
    ("task-cpu-negative", doc(cpu=-256), "cpu", "between 128 and 196608"),
    ("task-cpu-negative-string", doc(cpu="-256"), "cpu", "got '-256'"),
    ("task-cpu-too-small", doc(cpu="64"), "cpu", "between 128 and 196608"),
    ("task-cpu-fraction", doc(cpu="0.3 vCPU"), "cpu", "whole number"),
    ("task-cpu-bool", doc(cpu=True), "cpu", "got true"),
    ("task-cpu-float", doc(cpu=1.5), "cpu", "got 1.5"),
    ("task-memory-garbage", doc(memory="1 TB"), "memory", "got '1 TB'"),
    ("task-memory-zero", doc(memory=0), "memory", "at least 6"),
    ("task-memory-zero-gb", doc(memory="0 GB"), "memory", "at least 6"),
    ("task-memory-negative", doc(memory="-512"), "memory", "got '-512'"),
    ("task-memory-mib-suffix", doc(memory="512 MiB"), "memory", "got '512 MiB'"),
    (
        "container-cpu-sum-exceeds-task",
        two({"cpu": 512}, {"cpu": 1024}, cpu="1 vCPU"),
        "cpu",
        "reserve 1536 CPU units in total, more than the task-level cpu (1024)",
    ),
    (
        "container-memory-exceeds-task",
        one(memory=1024) | {"memory": "512"},
        "containerDefinitions[0].memory",
        "must not exceed the task-level memory (512 MiB), got 1024",
    ),
    (
        "container-memory-sum-exceeds-task",
        two({"memory": 300}, {"memoryReservation": 300, "memory": ...}, memory="512"),
        "memory",
        "reserve 600 MiB in total",
    ),
]


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [r[1:] for r in REJECTIONS],
    ids=[r[0] for r in REJECTIONS],
)
def test_rejections_name_the_exact_path(document, path, message):
    errors = errors_of(document)
    assert errors[0].path == path, errors
    assert message in errors[0].message, errors
    assert len(errors) == 1, errors  # one mistake, one error: no cascades


def test_all_errors_are_reported_at_once():
    document = {
        "family": "bad family",
        "networkMode": "awsvpc",
        "revision": 2,
        "containerDefinitions": [
            {"name": "web", "image": "Nginx", "cpu": -1, "memory": 64, "bogus": 1},
            {"name": "web", "image": "busybox", "memory": 64,
             "portMappings": [{"containerPort": 80, "hostPort": 70000}]},
        ],
    }
    errors = errors_of(document)
    assert [e.path for e in errors] == [
        "networkMode",
        "family",
        "revision",
        "containerDefinitions[0].bogus",
        "containerDefinitions[0].image",
        "containerDefinitions[0].cpu",
        "containerDefinitions[1].portMappings[0].hostPort",
        "containerDefinitions[1].name",
    ]


def test_no_essential_container_is_reported_even_with_other_errors():
    errors = errors_of(two({"essential": False}, {"essential": False}, family="bad family"))
    assert [e.path for e in errors] == ["family", "containerDefinitions"]


def test_duplicate_host_port_is_reported_even_when_another_container_is_invalid():
    errors = errors_of(
        doc(containerDefinitions=[
            {"name": "a", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 80}]},
            {"name": "b", "image": "BAD", "memory": 64},
            {"name": "c", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 80}]},
        ])
    )
    assert [e.path for e in errors] == [
        "containerDefinitions[1].image",
        "containerDefinitions[2].portMappings[0].hostPort",
    ]


def test_error_strings():
    err = FieldError("containerDefinitions[1].portMappings[0].hostPort", "must be between 0 and 65535, got 70000")
    assert str(err) == "containerDefinitions[1].portMappings[0].hostPort: must be between 0 and 65535, got 70000"
    exc = TaskDefinitionError([FieldError("family", "is required"), FieldError("containerDefinitions", "is required")])
    assert isinstance(exc, ValueError)
    assert str(exc) == "family: is required; containerDefinitions: is required"
    assert exc.errors == (FieldError("family", "is required"), FieldError("containerDefinitions", "is required"))
    restored = pickle.loads(pickle.dumps(exc))
    assert restored.errors == exc.errors and str(restored) == str(exc)


def test_error_from_parse_names_the_path_in_its_string():
    with pytest.raises(TaskDefinitionError, match=r"containerDefinitions\[0\]\.cpu: must be an integer, got 'abc'"):
        parse_task_definition(one(cpu="abc"))


def test_model_is_frozen_and_hashable():
    spec = parse_task_definition(NGINX_ECS_JSON)
    assert isinstance(spec, TaskDefinitionSpec)
    with pytest.raises(AttributeError):
        spec.family = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        spec.containers[0].image = "other"  # type: ignore[misc]
    assert len({spec, parse_task_definition(NGINX_ECS_JSON)}) == 1


# --------------------------------------------------------------------------------------------
# healthCheck, dependsOn, stopTimeout, restartPolicy (applied, with ECS's limits and defaults).

HC = {"command": ["CMD-SHELL", "test -f /x/ok"]}


def test_health_check_defaults_are_ecs():
    (container,) = parse_task_definition(one(healthCheck=HC)).containers
    assert container.health_check == HealthCheck(("CMD-SHELL", "test -f /x/ok"), interval=30, timeout=5,
                                                 retries=3, start_period=0)
    assert container.stop_timeout is None and container.restart_policy is None
    assert container.depends_on == ()


@pytest.mark.parametrize(
    ("health_check", "want"),
    [
        ({"command": ["CMD", "/bin/true"], "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0},
         HealthCheck(("CMD", "/bin/true"), 5, 2, 1, 0)),
        ({"command": ["CMD-SHELL", "exit 0"], "interval": 300, "timeout": 60, "retries": 10, "startPeriod": 300},
         HealthCheck(("CMD-SHELL", "exit 0"), 300, 60, 10, 300)),
    ],
    ids=["minimums", "maximums"],
)
def test_health_check_limits_are_accepted(health_check, want):
    assert parse_task_definition(one(healthCheck=health_check)).containers[0].health_check == want


def test_restart_policy_defaults_and_values():
    spec = parse_task_definition(two({"restartPolicy": {"enabled": True}},
                                     {"restartPolicy": {"enabled": False, "ignoredExitCodes": [0, 137],
                                                        "restartAttemptPeriod": 60}}))
    assert spec.containers[0].restart_policy == RestartPolicy(True, (), 300)
    assert spec.containers[1].restart_policy == RestartPolicy(False, (0, 137), 60)
    assert spec.ignored_fields == ()


@pytest.mark.parametrize("timeout", [2, 30, 120], ids=["min", "typical", "max"])
def test_stop_timeout(timeout):
    assert parse_task_definition(one(stopTimeout=timeout)).containers[0].stop_timeout == timeout


def test_depends_on_every_condition():
    spec = parse_task_definition(doc(containerDefinitions=[
        {"name": "db", "image": "busybox", "memory": 64, "healthCheck": HC},
        {"name": "init", "image": "busybox", "memory": 64, "essential": False},
        {"name": "migrate", "image": "busybox", "memory": 64, "essential": False},
        {"name": "app", "image": "busybox", "memory": 64, "dependsOn": [
            {"containerName": "db", "condition": "HEALTHY"},
            {"containerName": "init", "condition": "COMPLETE"},
            {"containerName": "migrate", "condition": "SUCCESS", },
        ]},
        {"name": "proxy", "image": "busybox", "memory": 64, "dependsOn": [
            {"containerName": "app", "condition": "START"}]},
    ]))
    app, proxy = spec.containers[3:]
    assert app.depends_on == (ContainerDependency("db", "HEALTHY"), ContainerDependency("init", "COMPLETE"),
                              ContainerDependency("migrate", "SUCCESS"))
    assert proxy.depends_on == (ContainerDependency("app", "START"),)


def deps(*containers: dict) -> dict:
    """A document of busybox containers (name, plus overrides)."""
    return doc(containerDefinitions=[{"image": "busybox", "memory": 64, **c} for c in containers])


C0 = "containerDefinitions[0]"
C1 = "containerDefinitions[1]"
FEATURE_REJECTIONS = [
    ("hc-not-object", one(healthCheck=["CMD", "true"]), f"{C0}.healthCheck", "must be an object"),
    ("hc-command-missing", one(healthCheck={"interval": 10}), f"{C0}.healthCheck.command", "is required"),
    ("hc-command-string", one(healthCheck={"command": "curl x"}), f"{C0}.healthCheck.command", "must be a list"),
    ("hc-command-empty", one(healthCheck={"command": []}), f"{C0}.healthCheck.command", "must start with CMD or CMD-SHELL, got an empty list"),
    ("hc-command-no-kind", one(healthCheck={"command": ["curl", "-f", "x"]}), f"{C0}.healthCheck.command", "must start with CMD or CMD-SHELL, got 'curl'"),
    ("hc-command-none", one(healthCheck={"command": ["NONE"]}), f"{C0}.healthCheck.command", "leave healthCheck out"),
    ("hc-command-only-kind", one(healthCheck={"command": ["CMD-SHELL"]}), f"{C0}.healthCheck.command", "must give a command after CMD-SHELL"),
    ("hc-command-blank", one(healthCheck={"command": ["CMD", " "]}), f"{C0}.healthCheck.command", "must give a command after CMD"),
    ("hc-command-item-int", one(healthCheck={"command": ["CMD", 1]}), f"{C0}.healthCheck.command[1]", "must be a string, got 1"),
    ("hc-interval-low", one(healthCheck={**HC, "interval": 4}), f"{C0}.healthCheck.interval", "between 5 and 300 seconds, got 4"),
    ("hc-interval-high", one(healthCheck={**HC, "interval": 301}), f"{C0}.healthCheck.interval", "between 5 and 300"),
    ("hc-interval-string", one(healthCheck={**HC, "interval": "30"}), f"{C0}.healthCheck.interval", "must be an integer"),
    ("hc-timeout-low", one(healthCheck={**HC, "timeout": 1}), f"{C0}.healthCheck.timeout", "between 2 and 60 seconds, got 1"),
    ("hc-timeout-high", one(healthCheck={**HC, "timeout": 61}), f"{C0}.healthCheck.timeout", "between 2 and 60"),
    ("hc-retries-zero", one(healthCheck={**HC, "retries": 0}), f"{C0}.healthCheck.retries", "between 1 and 10, got 0"),
    ("hc-retries-high", one(healthCheck={**HC, "retries": 11}), f"{C0}.healthCheck.retries", "between 1 and 10"),
    ("hc-start-period-negative", one(healthCheck={**HC, "startPeriod": -1}), f"{C0}.healthCheck.startPeriod", "between 0 and 300"),
    ("hc-start-period-high", one(healthCheck={**HC, "startPeriod": 301}), f"{C0}.healthCheck.startPeriod", "between 0 and 300"),
    ("hc-unknown-key", one(healthCheck={**HC, "Retries": 3}), f"{C0}.healthCheck.Retries", "did you mean 'retries'"),
    ("stop-timeout-low", one(stopTimeout=1), f"{C0}.stopTimeout", "between 2 and 120 seconds, got 1"),
    ("stop-timeout-high", one(stopTimeout=121), f"{C0}.stopTimeout", "between 2 and 120"),
    ("stop-timeout-string", one(stopTimeout="30"), f"{C0}.stopTimeout", "must be an integer"),
    ("restart-not-object", one(restartPolicy=True), f"{C0}.restartPolicy", "must be an object"),
    ("restart-enabled-missing", one(restartPolicy={"ignoredExitCodes": [0]}), f"{C0}.restartPolicy.enabled", "is required"),
    ("restart-enabled-string", one(restartPolicy={"enabled": "true"}), f"{C0}.restartPolicy.enabled", "must be a boolean"),
    ("restart-codes-not-list", one(restartPolicy={"enabled": True, "ignoredExitCodes": 0}), f"{C0}.restartPolicy.ignoredExitCodes", "must be a list"),
    ("restart-code-string", one(restartPolicy={"enabled": True, "ignoredExitCodes": [0, "1"]}), f"{C0}.restartPolicy.ignoredExitCodes[1]", "must be an integer, got '1'"),
    ("restart-too-many-codes", one(restartPolicy={"enabled": True, "ignoredExitCodes": list(range(51))}), f"{C0}.restartPolicy.ignoredExitCodes", "at most 50 exit codes, got 51"),
    ("restart-period-low", one(restartPolicy={"enabled": True, "restartAttemptPeriod": 59}), f"{C0}.restartPolicy.restartAttemptPeriod", "between 60 and 1800 seconds, got 59"),
    ("restart-period-high", one(restartPolicy={"enabled": True, "restartAttemptPeriod": 1801}), f"{C0}.restartPolicy.restartAttemptPeriod", "between 60 and 1800"),
    ("restart-unknown-key", one(restartPolicy={"enabled": True, "maxRetries": 3}), f"{C0}.restartPolicy.maxRetries", "unknown field"),
    ("depends-not-list", one(dependsOn={"containerName": "b"}), f"{C0}.dependsOn", "must be a list"),
    ("depends-entry-string", one(dependsOn=["b"]), f"{C0}.dependsOn[0]", "must be an object"),
    ("depends-name-missing", deps({"name": "a"}, {"name": "b", "dependsOn": [{"condition": "START"}]}), f"{C1}.dependsOn[0].containerName", "is required"),
    ("depends-condition-missing", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a"}]}), f"{C1}.dependsOn[0].condition", "is required"),
    ("depends-condition-unknown", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "RUNNING"}]}), f"{C1}.dependsOn[0].condition", "must be one of START, COMPLETE, SUCCESS, HEALTHY, got 'RUNNING'"),
    ("depends-condition-lowercase", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "start"}]}), f"{C1}.dependsOn[0].condition", "must be one of"),
    ("depends-unknown-key", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START", "timeout": 5}]}), f"{C1}.dependsOn[0].timeout", "unknown field"),
    ("depends-on-itself", deps({"name": "a", "dependsOn": [{"containerName": "a", "condition": "START"}]}), f"{C0}.dependsOn[0].containerName", "cannot depend on itself"),
    ("depends-twice", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START"}, {"containerName": "a", "condition": "HEALTHY"}]}), f"{C1}.dependsOn[1].containerName", "duplicate dependency on 'a'"),
    ("depends-on-unknown", deps({"name": "a", "dependsOn": [{"containerName": "ghost", "condition": "START"}]}), f"{C0}.dependsOn[0].containerName", "no container named 'ghost'"),
    ("complete-on-essential", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "COMPLETE"}]}), f"{C1}.dependsOn[0].condition", "COMPLETE cannot be used on an essential container ('a')"),
    ("success-on-essential", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "SUCCESS"}]}), f"{C1}.dependsOn[0].condition", "SUCCESS cannot be used on an essential container"),
    ("healthy-without-check", deps({"name": "a"}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "HEALTHY"}]}), f"{C1}.dependsOn[0].condition", "HEALTHY needs a healthCheck on container 'a'"),
    ("cycle-of-two", deps({"name": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]}), f"{C1}.dependsOn[0]", "dependency cycle: a -> b -> a"),
    ("cycle-of-three", deps({"name": "a", "dependsOn": [{"containerName": "c", "condition": "START"}]}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]}, {"name": "c", "dependsOn": [{"containerName": "b", "condition": "START"}]}), f"{C1}.dependsOn[0]", "dependency cycle: a -> c -> b -> a"),
]


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [r[1:] for r in FEATURE_REJECTIONS],
    ids=[r[0] for r in FEATURE_REJECTIONS],
)
def test_feature_rejections_name_the_exact_path(document, path, message):
    errors = errors_of(document)
    assert errors[0].path == path, errors
    assert message in errors[0].message, errors
    assert len(errors) == 1, errors


def test_dependency_on_an_invalid_container_reports_only_that_container():
    errors = errors_of(deps({"name": "a", "cpu": -1}, {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]}))
    assert [e.path for e in errors] == [f"{C0}.cpu"]


def test_diamond_dependencies_are_not_a_cycle():
    spec = parse_task_definition(deps(
        {"name": "base"},
        {"name": "left", "dependsOn": [{"containerName": "base", "condition": "START"}]},
        {"name": "right", "dependsOn": [{"containerName": "base", "condition": "START"}]},
        {"name": "top", "dependsOn": [{"containerName": "left", "condition": "START"},
                                      {"containerName": "right", "condition": "START"}]},
    ))
    assert len(spec.containers[3].depends_on) == 2


@pytest.mark.parametrize("constraints, path, message", [
    ([{"type": "memberOf", "expression": "attribute:zone === a"}],
     "placementConstraints[0].expression", "at position 19"),
    ([{"type": "distinctInstance"}], "placementConstraints[0].type", "not supported here"),
    ("memberOf", "placementConstraints", "must be"),
    ([{"type": "memberOf", "expression": 5}], "placementConstraints[0].expression",
     "must be a string"),
], ids=["bad-expression", "distinct-instance", "not-a-list", "expression-not-a-string"])
def test_placement_constraints_are_validated(constraints, path, message):
    document = {"family": "f", "placementConstraints": constraints, "containerDefinitions": [
        {"name": "a", "image": "busybox", "memory": 16}]}
    with pytest.raises(TaskDefinitionError) as error:
        parse_task_definition(document)
    assert error.value.errors[0].path == path and message in error.value.errors[0].message


def test_placement_constraints_are_applied_not_ignored():
    spec = parse_task_definition({"family": "f", "containerDefinitions": [
        {"name": "a", "image": "busybox", "memory": 16}],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]})
    assert [str(c) for c in spec.placement_constraints] == ["memberOf:attribute:ecs.os-type == linux"]
    assert "placementConstraints" not in spec.ignored_fields
