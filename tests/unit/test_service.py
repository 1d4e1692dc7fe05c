"""The service layer on the in-memory store (and the race on real etcd too)."""

from __future__ import annotations

import threading

import pytest

from controlplane.errors import InvalidParameter, NotFound
from controlplane.service import ControlPlaneService
from controlplane.types import ContainerReport
from controlplane.store import EtcdStore, MemoryStore
from skiffcore.status import StopCode, TaskStatus


def taskdef(family="web", memory=128, cpu=0, host_port=None, **container):
    mapping = {"containerPort": 80}
    if host_port is not None:
        mapping["hostPort"] = host_port
    return {"family": family, "containerDefinitions": [dict(
        {"name": "app", "image": "127.0.0.1:5000/web:1", "memory": memory, "cpu": cpu,
         "portMappings": [mapping]}, **container)]}


@pytest.fixture
def service() -> ControlPlaneService:
    return ControlPlaneService(MemoryStore())


def add_instance(service, name="i-1", cpu=2048, memory=1024, connected=True, cluster="default"):
    record = service.register_instance(cluster, name, name, cpu, memory, {}, "test")
    if connected:
        service.heartbeat(cluster, record.instance_id)
    return record.instance_id


def test_default_cluster_exists_without_creation(service):
    assert [c.name for c in service.list_clusters()] == ["default"]
    service.create_cluster("lab")
    assert [c.name for c in service.list_clusters()] == ["default", "lab"]
    assert service.create_cluster("lab").name == "lab"  # idempotent, as ECS


def test_bad_cluster_name_is_rejected(service):
    with pytest.raises(InvalidParameter, match="clusterName"):
        service.create_cluster("no spaces")


def test_revisions_count_up_and_stay_immutable(service):
    first = service.register_task_definition(taskdef(memory=128))
    second = service.register_task_definition(taskdef(memory=256))
    assert (first.revision, second.revision) == (1, 2)
    assert service.describe_task_definition("web:1").document["containerDefinitions"][0]["memory"] == 128
    assert service.describe_task_definition("web").revision == 2
    service.deregister_task_definition("web:2")
    assert service.describe_task_definition("web").revision == 1
    assert service.register_task_definition(taskdef()).revision == 3  # never reused
    assert service.list_task_definitions(status="INACTIVE") == [second.arn]


def test_rejected_task_definition_stores_nothing(service):
    with pytest.raises(InvalidParameter, match=r"containerDefinitions\[0\]\.cpu"):
        service.register_task_definition(taskdef(cpu=-1))
    assert service.store.list("/") == []


def test_unknown_reference_is_not_found(service):
    with pytest.raises(NotFound):
        service.describe_task_definition("nope:1")
    with pytest.raises(InvalidParameter, match="taskDefinition"):
        service.describe_task_definition("bad name")


def test_run_task_reserves_and_reports_failures(service):
    instance = add_instance(service, memory=300)
    service.register_task_definition(taskdef(memory=128))
    tasks, failures = service.run_task("default", "web", count=3)
    assert len(tasks) == 2 and {t.instance_id for t in tasks} == {instance}
    assert [f.reason for f in failures] == ["RESOURCE:MEMORY"]
    assert "insufficient memory (need 128, free 44)" in failures[0].detail
    assert service.instance("default", instance).remaining_memory == 44
    assert all(t.status == TaskStatus.PENDING and t.desired == TaskStatus.RUNNING for t in tasks)


def test_describe_tasks_by_id_or_arn_lists_the_missing(service):
    add_instance(service)
    service.register_task_definition(taskdef())
    (first, second), _ = service.run_task("default", "web", count=2)
    tasks, failures = service.describe_tasks("default", [first.task_id, "f" * 32, second.arn])
    assert [t.task_id for t in tasks] == [first.task_id, second.task_id]
    assert [(f.arn, f.reason) for f in failures] == [("f" * 32, "MISSING")]
    with pytest.raises(InvalidParameter, match="task"):
        service.describe_tasks("default", [""])


def test_run_task_count_is_bounded(service):
    service.register_task_definition(taskdef())
    with pytest.raises(InvalidParameter, match="count"):
        service.run_task("default", "web", count=11)


def test_disconnected_agent_gets_nothing(service):
    add_instance(service, connected=False)
    service.register_task_definition(taskdef())
    tasks, failures = service.run_task("default", "web")
    assert tasks == [] and failures[0].reason == "AGENT"


def test_fixed_host_port_blocks_second_task(service):
    add_instance(service)
    service.register_task_definition(taskdef(host_port=8080))
    tasks, failures = service.run_task("default", "web", count=2)
    assert len(tasks) == 1 and failures[0].reason == "RESOURCE:PORTS"


def test_lifecycle_moves_forward_and_stop_releases(service):
    instance = add_instance(service, memory=1024)
    service.register_task_definition(taskdef(memory=512))
    (task,), _ = service.run_task("default", "web")
    binding = {"bind_ip": "0.0.0.0", "container_port": 80, "host_port": 32768, "protocol": "tcp"}
    service.report_task_state("default", instance, task.task_id, TaskStatus.RUNNING,
                              [ContainerReport("app", TaskStatus.RUNNING, network_bindings=(binding,))])
    service.report_task_state("default", instance, task.task_id, TaskStatus.PENDING)  # stale
    running = service.task("default", task.task_id)
    assert running.status == TaskStatus.RUNNING
    assert running.containers[0].network_bindings == [binding]
    stopping = service.stop_task("default", task.task_id, "done here")
    assert stopping.desired == TaskStatus.STOPPED and stopping.stop_code == StopCode.USER_INITIATED
    assert service.assignments("default", instance)[0][0].desired == TaskStatus.STOPPED
    service.report_task_state("default", instance, task.task_id, TaskStatus.STOPPED,
                              [ContainerReport("app", TaskStatus.STOPPED, exit_code=143)])
    stopped = service.task("default", task.task_id)
    assert (stopped.status, stopped.stop_code, stopped.stopped_reason) == (
        TaskStatus.STOPPED, "UserInitiated", "done here")
    assert stopped.containers[0].exit_code == 143
    assert service.instance("default", instance).remaining_memory == 1024
    assert service.assignments("default", instance) == []


def test_essential_exit_keeps_agent_stop_code(service):
    instance = add_instance(service)
    service.register_task_definition(taskdef())
    (task,), _ = service.run_task("default", "web")
    service.report_task_state("default", instance, task.task_id, TaskStatus.STOPPED,
                              [ContainerReport("app", TaskStatus.STOPPED, exit_code=3)],
                              StopCode.ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    stopped = service.task("default", task.task_id)
    assert stopped.stop_code == "EssentialContainerExited"
    assert stopped.desired == TaskStatus.STOPPED
    assert stopped.containers[0].exit_code == 3


def test_report_from_another_instance_is_refused(service):
    add_instance(service, "i-1")
    service.register_task_definition(taskdef())
    (task,), _ = service.run_task("default", "web")
    with pytest.raises(InvalidParameter):
        service.report_task_state("default", "i-2", task.task_id, TaskStatus.RUNNING)


@pytest.fixture(params=["memory", "etcd"])
def any_store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    store = EtcdStore.connect(request.getfixturevalue("etcd_endpoint"))
    yield store
    store.close()


def test_racing_run_tasks_for_the_last_memory(any_store):
    """Two RunTask calls race for the memory of one task: exactly one is placed."""
    import uuid

    service = ControlPlaneService(any_store)
    cluster = service.create_cluster("race-" + uuid.uuid4().hex[:8]).name
    add_instance(service, "i-race", memory=600, cluster=cluster)
    service.register_task_definition(taskdef(family="race", memory=400))
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(service.run_task(cluster, "race"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placed = [t for tasks, _ in results for t in tasks]
    failures = [f for _, fs in results for f in fs]
    assert len(placed) == 1
    assert [f.reason for f in failures] == ["RESOURCE:MEMORY"]
    assert service.instance(cluster, "i-race").remaining_memory == 200
    service.close()


def test_stop_tasks_in_one_go(service):
    add_instance(service)
    service.register_task_definition(taskdef())
    tasks, _ = service.run_task("default", "web", count=3)
    ids = [t.task_id for t in tasks]
    changed = service.stop_tasks("default", [(ids[0], "old"), (ids[1], "old")],
                                 "ServiceSchedulerInitiated")
    assert sorted(changed) == sorted(ids[:2])
    stopped = [service.task("default", i) for i in ids]
    assert [t.desired for t in stopped] == [TaskStatus.STOPPED, TaskStatus.STOPPED,
                                            TaskStatus.RUNNING]
    assert stopped[0].stop_code == "ServiceSchedulerInitiated" and stopped[0].stopped_reason == "old"
    assert service.stop_tasks("default", [(ids[0], "again")], "ServiceSchedulerInitiated") == []
