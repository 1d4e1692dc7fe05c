"""The resource operations on the in-memory store (and the race on real etcd too)."""

from __future__ import annotations

import threading

import pytest

from controlplane.errors import InvalidParameter, NotFound
from controlplane.resources import ControlPlane
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
def cp() -> ControlPlane:
    control_plane = ControlPlane(MemoryStore())
    control_plane.view.start()  # the in-memory store's watch runs in the writer's thread
    return control_plane


def add_instance(cp, name="i-1", cpu=2048, memory=1024, connected=True, cluster="default"):
    record = cp.agents.register_instance(cluster, name, name, cpu, memory, {}, "test")
    if connected:
        cp.agents.heartbeat(cluster, record.instance_id)
    return record.instance_id


def test_default_cluster_exists_without_creation(cp):
    assert [c.name for c in cp.clusters.list_clusters()] == ["default"]
    cp.clusters.create_cluster("lab")
    assert [c.name for c in cp.clusters.list_clusters()] == ["default", "lab"]
    assert cp.clusters.create_cluster("lab").name == "lab"  # idempotent, as ECS


def test_bad_cluster_name_is_rejected(cp):
    with pytest.raises(InvalidParameter, match="clusterName"):
        cp.clusters.create_cluster("no spaces")


def test_revisions_count_up_and_stay_immutable(cp):
    first = cp.taskdefs.register_task_definition(taskdef(memory=128))
    second = cp.taskdefs.register_task_definition(taskdef(memory=256))
    assert (first.revision, second.revision) == (1, 2)
    assert cp.taskdefs.describe_task_definition("web:1").document["containerDefinitions"][0]["memory"] == 128
    assert cp.taskdefs.describe_task_definition("web").revision == 2
    cp.taskdefs.deregister_task_definition("web:2")
    assert cp.taskdefs.describe_task_definition("web").revision == 1
    assert cp.taskdefs.register_task_definition(taskdef()).revision == 3  # never reused
    assert cp.taskdefs.list_task_definitions(status="INACTIVE") == [second.arn]


def test_rejected_task_definition_stores_nothing(cp):
    with pytest.raises(InvalidParameter, match=r"containerDefinitions\[0\]\.cpu"):
        cp.taskdefs.register_task_definition(taskdef(cpu=-1))
    assert cp.store.list("/") == []


def test_unknown_reference_is_not_found(cp):
    with pytest.raises(NotFound):
        cp.taskdefs.describe_task_definition("nope:1")
    with pytest.raises(InvalidParameter, match="taskDefinition"):
        cp.taskdefs.describe_task_definition("bad name")


def test_run_task_reserves_and_reports_failures(cp):
    instance = add_instance(cp, memory=300)
    cp.taskdefs.register_task_definition(taskdef(memory=128))
    tasks, failures = cp.tasks.run_task("default", "web", count=3)
    assert len(tasks) == 2 and {t.instance_id for t in tasks} == {instance}
    assert [f.reason for f in failures] == ["RESOURCE:MEMORY"]
    assert "insufficient memory (need 128, free 44)" in failures[0].detail
    assert cp.instances.instance("default", instance).remaining_memory == 44
    assert all(t.status == TaskStatus.PENDING and t.desired == TaskStatus.RUNNING for t in tasks)


def test_describe_tasks_by_id_or_arn_lists_the_missing(cp):
    add_instance(cp)
    cp.taskdefs.register_task_definition(taskdef())
    (first, second), _ = cp.tasks.run_task("default", "web", count=2)
    tasks, failures = cp.tasks.describe_tasks("default", [first.task_id, "f" * 32, second.arn])
    assert [t.task_id for t in tasks] == [first.task_id, second.task_id]
    assert [(f.arn, f.reason) for f in failures] == [("f" * 32, "MISSING")]
    with pytest.raises(InvalidParameter, match="task"):
        cp.tasks.describe_tasks("default", [""])


def test_run_task_count_is_bounded(cp):
    cp.taskdefs.register_task_definition(taskdef())
    with pytest.raises(InvalidParameter, match="count"):
        cp.tasks.run_task("default", "web", count=11)


def test_disconnected_agent_gets_nothing(cp):
    add_instance(cp, connected=False)
    cp.taskdefs.register_task_definition(taskdef())
    tasks, failures = cp.tasks.run_task("default", "web")
    assert tasks == [] and failures[0].reason == "AGENT"


def test_fixed_host_port_blocks_second_task(cp):
    add_instance(cp)
    cp.taskdefs.register_task_definition(taskdef(host_port=8080))
    tasks, failures = cp.tasks.run_task("default", "web", count=2)
    assert len(tasks) == 1 and failures[0].reason == "RESOURCE:PORTS"


def test_lifecycle_moves_forward_and_stop_releases(cp):
    instance = add_instance(cp, memory=1024)
    cp.taskdefs.register_task_definition(taskdef(memory=512))
    (task,), _ = cp.tasks.run_task("default", "web")
    binding = {"bind_ip": "0.0.0.0", "container_port": 80, "host_port": 32768, "protocol": "tcp"}
    cp.agents.report_task_state("default", instance, task.task_id, TaskStatus.RUNNING,
                              [ContainerReport("app", TaskStatus.RUNNING, network_bindings=(binding,))])
    cp.agents.report_task_state("default", instance, task.task_id, TaskStatus.PENDING)  # stale
    running = cp.tasks.task("default", task.task_id)
    assert running.status == TaskStatus.RUNNING
    assert running.containers[0].network_bindings == [binding]
    stopping = cp.tasks.stop_task("default", task.task_id, "done here")
    assert stopping.desired == TaskStatus.STOPPED and stopping.stop_code == StopCode.USER_INITIATED
    assert cp.agents.assignments("default", instance).tasks[0][0].desired == TaskStatus.STOPPED
    cp.agents.report_task_state("default", instance, task.task_id, TaskStatus.STOPPED,
                              [ContainerReport("app", TaskStatus.STOPPED, exit_code=143)])
    stopped = cp.tasks.task("default", task.task_id)
    assert (stopped.status, stopped.stop_code, stopped.stopped_reason) == (
        TaskStatus.STOPPED, "UserInitiated", "done here")
    assert stopped.containers[0].exit_code == 143
    assert cp.instances.instance("default", instance).remaining_memory == 1024
    assert cp.agents.assignments("default", instance).tasks == []


def test_essential_exit_keeps_agent_stop_code(cp):
    instance = add_instance(cp)
    cp.taskdefs.register_task_definition(taskdef())
    (task,), _ = cp.tasks.run_task("default", "web")
    cp.agents.report_task_state("default", instance, task.task_id, TaskStatus.STOPPED,
                              [ContainerReport("app", TaskStatus.STOPPED, exit_code=3)],
                              StopCode.ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    stopped = cp.tasks.task("default", task.task_id)
    assert stopped.stop_code == "EssentialContainerExited"
    assert stopped.desired == TaskStatus.STOPPED
    assert stopped.containers[0].exit_code == 3


def test_report_from_another_instance_is_refused(cp):
    add_instance(cp, "i-1")
    cp.taskdefs.register_task_definition(taskdef())
    (task,), _ = cp.tasks.run_task("default", "web")
    with pytest.raises(InvalidParameter):
        cp.agents.report_task_state("default", "i-2", task.task_id, TaskStatus.RUNNING)


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

    cp = ControlPlane(any_store)
    cp.view.start()
    cluster = cp.clusters.create_cluster("race-" + uuid.uuid4().hex[:8]).name
    add_instance(cp, "i-race", memory=600, cluster=cluster)
    cp.taskdefs.register_task_definition(taskdef(family="race", memory=400))
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(cp.tasks.run_task(cluster, "race"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placed = [t for tasks, _ in results for t in tasks]
    failures = [f for _, fs in results for f in fs]
    assert len(placed) == 1
    assert [f.reason for f in failures] == ["RESOURCE:MEMORY"]
    assert cp.instances.instance(cluster, "i-race").remaining_memory == 200
    cp.close()


def test_stop_tasks_in_one_go(cp):
    add_instance(cp)
    cp.taskdefs.register_task_definition(taskdef())
    tasks, _ = cp.tasks.run_task("default", "web", count=3)
    ids = [t.task_id for t in tasks]
    changed = cp.tasks.stop_tasks("default", [(ids[0], "old"), (ids[1], "old")],
                                 "ServiceSchedulerInitiated")
    assert sorted(changed) == sorted(ids[:2])
    stopped = [cp.tasks.task("default", i) for i in ids]
    assert [t.desired for t in stopped] == [TaskStatus.STOPPED, TaskStatus.STOPPED,
                                            TaskStatus.RUNNING]
    assert stopped[0].stop_code == "ServiceSchedulerInitiated" and stopped[0].stopped_reason == "old"
    assert cp.tasks.stop_tasks("default", [(ids[0], "again")], "ServiceSchedulerInitiated") == []
