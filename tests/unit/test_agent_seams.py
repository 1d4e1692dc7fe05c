"""The agent's seams: the decision code loads without the docker SDK, only the Docker adapter
imports it, both runtimes keep the ContainerRuntime protocol, and the error table classifies
as documented."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import threading
from pathlib import Path

import docker.errors
import pytest
import requests

from agent.fake_runtime import FakeRuntime
from agent.runtime import (ContainerNotFound, ContainerRuntime, ContainerRuntimeError,
                           ContainerSpec, ImageNotFound, RuntimeUnavailable, errors)
from agent.runtime.api import Stream
from agent.runtime.docker_sdk import DockerRuntime, _failure

AGENT = Path(__file__).resolve().parents[2] / "agent"
# The modules allowed to import the docker SDK (STYLE.md: one module per third-party SDK).
DOCKER_IMPORTERS = {"runtime/docker_sdk.py", "runtime/unix_http.py"}

# Imports `module` with the docker SDK made unimportable; exits 0 only when that worked and
# no docker module got loaded on the way.
BLOCKED = """
import importlib, sys
sys.modules["docker"] = None  # any `import docker...` now raises ImportError
importlib.import_module(sys.argv[1])
loaded = [name for name, m in sys.modules.items() if name.startswith("docker") and m is not None]
sys.exit(f"docker modules loaded: {loaded}" if loaded else 0)
"""


def import_without_docker(module: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKED, module], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("module", ["agent", "agent.decision", "agent.plan", "agent.engine",
                                    "agent.fake_runtime", "agent.session", "agent.logs",
                                    "agent.runtime", "agent.runtime.api",
                                    "agent.runtime.errors", "agent.runtime.model"])
def test_loads_without_the_docker_sdk(module):
    result = import_without_docker(module)
    assert result.returncode == 0, result.stderr


def test_the_docker_block_is_real():
    """The check above can fail: the adapter does not load with docker blocked."""
    result = import_without_docker("agent.runtime.docker_sdk")
    assert result.returncode != 0
    assert "ImportError" in result.stderr or "ModuleNotFoundError" in result.stderr


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_only_the_runtime_adapter_imports_docker():
    importers = {str(path.relative_to(AGENT)) for path in AGENT.rglob("*.py")
                 if any(name == "docker" or name.startswith("docker.")
                        for name in imported_modules(path))}
    assert importers == DOCKER_IMPORTERS


# --- the protocol ------------------------------------------------------------------------------

PROTOCOL_METHODS = [name for name, member in vars(ContainerRuntime).items()
                    if inspect.isfunction(member) and not name.startswith("_")]


def test_the_protocol_states_every_contract():
    assert len(PROTOCOL_METHODS) >= 12
    methods = [(ContainerRuntime, name) for name in PROTOCOL_METHODS]
    methods += [(Stream, "__iter__"), (Stream, "close")]
    for protocol, name in methods:
        assert inspect.getdoc(getattr(protocol, name)), f"{protocol.__name__}.{name}: no docstring"


@pytest.mark.parametrize("implementation", [DockerRuntime, FakeRuntime], ids=lambda c: c.__name__)
def test_both_runtimes_keep_the_protocol(implementation):
    assert isinstance(implementation.__new__(implementation), ContainerRuntime)
    for name in PROTOCOL_METHODS:
        expected = list(inspect.signature(getattr(ContainerRuntime, name)).parameters)
        actual = list(inspect.signature(getattr(implementation, name)).parameters)
        assert actual == expected, f"{implementation.__name__}.{name}"


def spec(task_id: str, name: str = "app") -> ContainerSpec:
    return ContainerSpec(task_id=task_id, container_name=name, cluster="c", instance_id="i-1",
                         image="img")


def test_the_fake_streams_its_events_until_closed():
    runtime = FakeRuntime(images=("img",))
    events = runtime.events("i-1")
    others = runtime.events("i-2")
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(e["Action"] for e in events))
    reader.start()
    state = runtime.create(spec("t1"))
    runtime.start(state.container_id)
    runtime.set_health("t1", "app", "healthy")
    runtime.exit("t1", "app", 3)
    runtime.remove(state.container_id)
    events.close()
    reader.join(2)
    others.close()
    assert seen == ["create", "start", "health_status: healthy", "die", "destroy"]
    assert list(others) == []


def test_the_fake_logs_end_with_the_container_when_followed():
    runtime = FakeRuntime(images=("img",))
    state = runtime.create(spec("t1"))
    runtime.start(state.container_id)
    runtime.write("t1", "app", b"one\n")
    assert list(runtime.logs(state.container_id)) == [b"one\n"]
    followed = runtime.logs(state.container_id, follow=True)
    runtime.write("t1", "app", b"two\n")
    runtime.exit("t1", "app", 0)
    assert list(followed) == [b"one\n", b"two\n"]
    assert list(runtime.logs(state.container_id, tail=1)) == [b"two\n"]
    with pytest.raises(ContainerNotFound):
        runtime.logs("nobody")


# --- the error table -------------------------------------------------------------------------

def api_error(status: int, explanation: str, kind=docker.errors.APIError) -> Exception:
    response = requests.Response()
    response.status_code = status
    return kind(f"{status}", response=response, explanation=explanation)


GONE = api_error(404, "No such container: x", docker.errors.NotFound)
NO_IMAGE = api_error(404, "No such image: img", docker.errors.ImageNotFound)


@pytest.mark.parametrize("operation, exc, expected, retriable", [
    ("stop", GONE, None, None),
    ("remove", GONE, None, None),
    ("remove", api_error(409, "removal of container x is already in progress"), None, None),
    ("remove", api_error(409, "conflict"), ContainerRuntimeError, False),
    ("start", GONE, ContainerNotFound, False),
    ("inspect", GONE, ContainerNotFound, False),
    ("create", NO_IMAGE, ImageNotFound, False),
    ("create", api_error(404, "network x not found", docker.errors.NotFound),
     ContainerRuntimeError, False),
    ("pull", GONE, ImageNotFound, False),
    ("pull", api_error(500, "manifest unknown"), ImageNotFound, False),
    ("pull", api_error(500, "unauthorized: authentication required"), ContainerRuntimeError, False),
    ("pull", api_error(500, "dial tcp 127.0.0.1:1: connection refused"), RuntimeUnavailable, True),
    ("start", api_error(500, "driver failed"), RuntimeUnavailable, True),
    ("start", api_error(400, "bad parameter"), ContainerRuntimeError, False),
    ("stop", requests.exceptions.ConnectionError("socket gone"), RuntimeUnavailable, True),
], ids=lambda v: v if isinstance(v, str) else None)
def test_docker_failures_classify_by_the_table(operation, exc, expected, retriable):
    error = _failure(operation, exc, f"{operation} x")
    if expected is None:
        assert error is None  # counts as done
    else:
        assert type(error) is expected and error.retriable is retriable
        assert str(error).startswith(f"{operation} x: ")


def test_a_pull_error_inside_the_stream_is_retriable_unless_the_text_says_otherwise():
    assert errors.pull_failed("unexpected EOF", "pull img", None).retriable
    assert type(errors.pull_failed("manifest unknown", "pull img", None)) is ImageNotFound
