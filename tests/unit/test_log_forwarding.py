"""GetTaskLogs at a control-plane process without the agent's command stream: passed on, once,
to the process named in the agent's session key (two in-process servers, one store)."""

from __future__ import annotations

import json

import grpc
import pytest

from controlplane.model import Keys
from controlplane.server import ControlPlaneServer
from controlplane.store import MemoryStore
from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc
from skiffharness.processes import free_port
from tests.unit.test_service import add_instance, taskdef


@pytest.fixture
def processes():
    store = MemoryStore()
    holder = ControlPlaneServer(store, "127.0.0.1:0").start()  # the agent registered here
    other = ControlPlaneServer(store, "127.0.0.1:0").start()
    yield store, holder, other
    for server in (holder, other):
        server.stop(0)


def logs_error(server: ControlPlaneServer, task_id: str) -> grpc.RpcError:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = controlplane_pb2_grpc.ControlPlaneStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            list(stub.GetTaskLogs(pb.GetTaskLogsRequest(task=task_id), timeout=10))
    return raised.value


def run_task(holder: ControlPlaneServer) -> tuple[str, str]:
    """A task on an instance whose agent registered with `holder`: (instance id, task id)."""
    holder.control_plane.taskdefs.register_task_definition(taskdef())
    instance_id = add_instance(holder.control_plane)
    holder.control_plane.agents.heartbeat("default", instance_id, registering=True)
    tasks, _ = holder.control_plane.tasks.run_task("default", "web")
    return instance_id, tasks[0].task_id


def name_in_session(store, instance_id: str, address: str) -> None:
    store.commit(puts={Keys.session("default", instance_id): json.dumps(
        {"replica": "elsewhere", "address": address}).encode()})


def test_the_request_goes_to_the_process_the_agent_registered_with(processes):
    store, holder, other = processes
    _, task_id = run_task(holder)
    error = logs_error(other, task_id)
    # The holder has no command stream either here (no agent process): its own answer comes
    # back, naming it.
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"control plane at {holder.advertise}:" in error.details()
    assert "not connected to this control plane process" in error.details()


def test_a_passed_on_request_is_not_passed_on_again(processes):
    store, holder, other = processes
    instance_id, task_id = run_task(holder)
    # The key names a process at the holder's address that is not the holder: the holder
    # would pass it on to itself, over and over, if the mark did not stop it.
    name_in_session(store, instance_id, holder.advertise)
    error = logs_error(other, task_id)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_an_agent_connected_nowhere_is_named_as_such(processes):
    store, holder, other = processes
    instance_id, task_id = run_task(holder)
    store.commit(deletes=[Keys.session("default", instance_id)])
    error = logs_error(other, task_id)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not connected to any control plane process" in error.details()


def test_a_process_that_does_not_answer_is_named(processes):
    store, holder, other = processes
    instance_id, task_id = run_task(holder)
    gone = f"127.0.0.1:{free_port()}"
    name_in_session(store, instance_id, gone)
    error = logs_error(other, task_id)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert f"connected to the control plane at {gone}, which did not answer" in error.details()
