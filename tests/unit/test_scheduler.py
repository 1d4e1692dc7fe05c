"""The pure placement boundary: filters, ranking, batch accounting, explanations."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from controlplane.scheduler import (ClusterSnapshot, InstanceSnapshot, TaskRequest, schedule)


def inst(iid, cpu=2048, mem=4096, ports=(), status="ACTIVE", connected=True):
    return InstanceSnapshot(iid, cpu, mem, frozenset(ports), status, connected)


@pytest.mark.parametrize("instance, task, reason, detail", [
    (inst("i-1", mem=256), TaskRequest("t", 0, 512), "RESOURCE:MEMORY",
     "i-1: insufficient memory (need 512, free 256)"),
    (inst("i-1", cpu=100), TaskRequest("t", 512, 1), "RESOURCE:CPU",
     "i-1: insufficient CPU (need 512, free 100)"),
    (inst("i-1", ports=[(80, "tcp")]), TaskRequest("t", 0, 1, ((80, "tcp"),)), "RESOURCE:PORTS",
     "i-1: host port 80/tcp in use"),
    (inst("i-1", ports=[(53, "udp")]), TaskRequest("t", 0, 1, ((53, "udp"),)),
     "RESOURCE:PORTS_UDP", "i-1: host port 53/udp in use"),
    (inst("i-1", connected=False), TaskRequest("t", 0, 1), "AGENT", "i-1: agent not connected"),
    (inst("i-1", status="DRAINING"), TaskRequest("t", 0, 1), "INACTIVE", "i-1: status DRAINING"),
], ids=["memory", "cpu", "tcp-port", "udp-port", "disconnected", "not-active"])
def test_each_filter_explains_its_rejection(instance, task, reason, detail):
    plan = schedule(ClusterSnapshot((instance,)), [task])
    assert plan.placements == ()
    assert plan.rejections[0].reason == reason
    assert plan.rejections[0].detail == detail


def test_same_port_other_protocol_fits():
    plan = schedule(ClusterSnapshot((inst("i-1", ports=[(53, "udp")]),)),
                    [TaskRequest("t", 0, 1, ((53, "tcp"),))])
    assert [p.instance_id for p in plan.placements] == ["i-1"]


def test_no_instances():
    plan = schedule(ClusterSnapshot(()), [TaskRequest("t", 0, 1)])
    assert plan.rejections[0].detail == "no container instances in the cluster"


def test_binpack_prefers_least_remaining_memory_then_id():
    snapshot = ClusterSnapshot((inst("i-b", mem=1024), inst("i-a", mem=1024), inst("i-c", mem=4096)))
    plan = schedule(snapshot, [TaskRequest("t", 0, 512)])
    assert plan.placements[0].instance_id == "i-a"


def test_batch_accounts_for_earlier_tasks():
    snapshot = ClusterSnapshot((inst("i-1", mem=1000),))
    plan = schedule(snapshot, [TaskRequest(f"t{n}", 0, 400) for n in range(3)])
    assert [p.task_id for p in plan.placements] == ["t0", "t1"]
    assert plan.rejections[0].task_id == "t2"
    assert plan.rejections[0].detail == "i-1: insufficient memory (need 400, free 200)"


def test_batch_fixed_port_taken_by_earlier_task_of_batch():
    snapshot = ClusterSnapshot((inst("i-1"), inst("i-2")))
    tasks = [TaskRequest(f"t{n}", 0, 1, ((8080, "tcp"),)) for n in range(3)]
    plan = schedule(snapshot, tasks)
    assert sorted(p.instance_id for p in plan.placements) == ["i-1", "i-2"]
    assert plan.rejections[0].reason == "RESOURCE:PORTS"


instances_st = st.lists(
    st.builds(inst, st.uuids().map(lambda u: u.hex[:6]), st.integers(0, 4096),
               st.integers(0, 8192)),
    max_size=6, unique_by=lambda i: i.instance_id)
tasks_st = st.lists(st.builds(TaskRequest, st.uuids().map(str), st.integers(0, 2048),
                              st.integers(0, 4096)), max_size=12)


@given(instances_st, tasks_st)
def test_never_over_commits_and_is_deterministic(instances, tasks):
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, tasks)
    assert plan == schedule(snapshot, tasks)
    assert len(plan.placements) + len(plan.rejections) == len(tasks)
    by_id = {t.task_id: t for t in tasks}
    for instance in instances:
        placed = [by_id[p.task_id] for p in plan.placements if p.instance_id == instance.instance_id]
        assert sum(t.cpu for t in placed) <= instance.remaining_cpu
        assert sum(t.memory for t in placed) <= instance.remaining_memory
