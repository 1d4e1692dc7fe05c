"""`skiff sim`'s engine: synthetic and recorded clusters, workloads, metrics, determinism."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from controlplane.scheduler import (ClusterSnapshot, InstanceSnapshot, PlacementError,
                                    TaskRequest, constraint_from_text, schedule,
                                    strategy_from_text)
from controlplane.scheduler.sim import (SimConfig, Workload, WorkloadTask, run_sim, simulate,
                                        snapshot_from_dict, snapshot_to_dict, synthetic_cluster,
                                        synthetic_workload, workload_from_dict)


def fake_clock(step: float = 1e-5):
    """A clock that advances `step` seconds per read: timings become deterministic too."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_same_seed_same_output():
    config = SimConfig(instances=60, tasks=600, seed=7, lifetime=50,
                       strategies=(strategy_from_text("binpack:memory"),
                                   strategy_from_text("spread:attribute:zone,binpack:memory"),
                                   strategy_from_text("random")),
                       constraints=(constraint_from_text("memberOf:attribute:ecs.instance-type !~ t3.*"),))
    first = run_sim(config, fake_clock())
    assert first == run_sim(config, fake_clock())
    json.dumps(first)
    assert first["runs"][0]["placements_digest"] == first["placements_digest"]
    assert len({run["placements_digest"] for run in first["runs"]}) == 3
    assert first["decisions_per_second"] == pytest.approx(1e5)  # one tick per decision
    other = run_sim(SimConfig(**{**config.__dict__, "seed": 8}), fake_clock())
    assert other["placements_digest"] != first["placements_digest"]


def test_result_has_the_documented_fields():
    result = run_sim(SimConfig(instances=10, tasks=50), fake_clock())
    for key in ("placed", "refused", "decisions_per_second", "p99_decision_us", "cpu_utilisation",
                "memory_utilisation", "fragmentation", "spread_evenness", "placements_digest",
                "runs", "seed", "instances", "tasks"):
        assert key in result
    assert result["placed"] + result["refused"] == result["tasks"] == 50
    assert result["instances"] == 10


def test_digest_is_a_hash_of_the_placement_list():
    config = SimConfig(instances=20, tasks=100, seed=3)
    cluster, workload = synthetic_cluster(config), synthetic_workload(config)
    result = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    plan = schedule(cluster, [TaskRequest(t.task_id, t.cpu, t.memory, group=t.group,
                                          strategies=strategy_from_text("binpack:memory"))
                              for t in workload.tasks])
    where = {p.task_id: p.instance_id for p in plan.placements}
    lines = "".join(f"{t.task_id} {where.get(t.task_id, '-')}\n" for t in workload.tasks)
    assert result["placements_digest"] == hashlib.sha256(lines.encode()).hexdigest()
    assert result["decisions_per_second"] is None  # no clock, no timing


def test_synthetic_cluster_is_seeded_and_zoned():
    config = SimConfig(instances=9, seed=1)
    cluster = synthetic_cluster(config)
    assert cluster == synthetic_cluster(config)
    assert [i.attributes["ecs.availability-zone"] for i in cluster.instances[:4]] == [
        "zone-a", "zone-b", "zone-c", "zone-a"]
    assert all(i.attributes["zone"] == i.attributes["ecs.availability-zone"] for i in cluster.instances)
    assert cluster != synthetic_cluster(SimConfig(instances=9, seed=2))


def test_utilisation_and_spread_evenness_when_everything_fits():
    cluster = ClusterSnapshot(tuple(
        InstanceSnapshot(f"i-{z}{n}", 1000, 1000, attributes={"ecs.availability-zone": z},
                         registered_cpu=1000, registered_memory=1000)
        for z in "abc" for n in range(2)))
    workload = Workload(tuple(WorkloadTask(f"t{n}", 100, 250, "g", n) for n in range(12)))
    spread = simulate(cluster, workload, strategy_from_text("spread:attribute:ecs.availability-zone"))
    assert (spread["placed"], spread["refused"]) == (12, 0)
    assert spread["cpu_utilisation"] == pytest.approx(1200 / 6000, abs=1e-4)
    assert spread["memory_utilisation"] == pytest.approx(3000 / 6000, abs=1e-4)
    assert spread["spread_attribute"] == "ecs.availability-zone"
    assert spread["spread_evenness"] == 1.0
    packed = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    # 12 tasks of 250 MiB fill i-a0, i-a1 and i-b0: 8 in a, 4 in b, none in c.
    assert packed["spread_attribute"] == "ecs.availability-zone"
    assert packed["spread_evenness"] == 0.0


def test_fragmentation_counts_free_memory_that_fits_no_pending_task():
    cluster = ClusterSnapshot((InstanceSnapshot("i-1", 1000, 1000), InstanceSnapshot("i-2", 1000, 1000)))
    workload = Workload((WorkloadTask("big-1", 100, 700), WorkloadTask("big-2", 100, 700),
                         WorkloadTask("big-3", 100, 700)))
    result = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    assert (result["placed"], result["refused"]) == (2, 1)
    # 300 MiB free on each instance, and the refused 700 MiB task fits neither.
    assert result["fragmentation"] == 1.0
    # Nothing refused: measured against every shape of the workload. i-1 keeps 100 MiB
    # (fits neither 700 nor 200), i-2 1000 MiB.
    workload = Workload((WorkloadTask("big", 100, 700), WorkloadTask("small", 100, 200)))
    result = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    assert result["fragmentation"] == round(100 / 1100, 4)


def test_departures_free_capacity_for_later_arrivals():
    workload = workload_from_dict({"tasks": [
        {"name": "batch", "count": 2, "cpu": 0, "memory": 600, "duration": 5},
        {"name": "late", "memory": 600, "arrival": 3},
        {"name": "later", "memory": 600, "arrival": 10},
    ]})
    assert [(t.task_id, t.arrival, t.departure) for t in workload.tasks] == [
        ("batch-0", 0, 5), ("batch-1", 1, 6), ("late", 3, None), ("later", 10, None)]
    cluster = ClusterSnapshot((InstanceSnapshot("i-1", 1000, 1000), InstanceSnapshot("i-2", 1000, 1000)))
    result = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    assert (result["placed"], result["refused"]) == (3, 1)  # "late" finds no room, "later" does
    assert result["peak_memory_utilisation"] == 0.6
    assert result["memory_utilisation"] == 0.3


def test_workload_tasks_carry_their_own_constraints_ports_and_strategies():
    workload = workload_from_dict({"tasks": [{
        "name": "web", "count": 3, "cpu": 10, "memory": 10, "group": "service:web",
        "ports": ["80/tcp", "53/udp"], "dynamicPorts": 1,
        "constraints": [{"type": "distinctInstance"}],
        "placementStrategy": [{"type": "spread", "field": "instanceId"}]}]})
    first = workload.tasks[0]
    assert first.fixed_ports == ((80, "tcp"), (53, "udp")) and first.dynamic_ports == 1
    assert first.group == "service:web" and str(first.constraints[0]) == "distinctInstance"
    cluster = ClusterSnapshot(tuple(InstanceSnapshot(f"i-{n}", 100, 100) for n in range(2)))
    result = simulate(cluster, workload, strategy_from_text("binpack:memory"))
    assert (result["placed"], result["refused"]) == (2, 1)


def test_recorded_snapshot_round_trip():
    snapshot = ClusterSnapshot((
        InstanceSnapshot("i-1", 100, 200, frozenset({(80, "tcp")}), "DRAINING", False,
                         {"ecs.availability-zone": "a"}, "1.2.3", 1700000000000, ("web", "db"),
                         (40000, 40100), 2, 1024, 2048),
        InstanceSnapshot("i-2", 300, 400)))
    exported = snapshot_to_dict(snapshot)
    assert json.loads(json.dumps(exported)) == exported
    assert snapshot_from_dict(exported) == snapshot
    result = run_sim(SimConfig(snapshot=snapshot, tasks=5), fake_clock())
    assert result["instances"] == 2


@pytest.mark.parametrize("data, field", [
    ({"instances": "x"}, "instances"),
    ({"format": "other", "instances": []}, "format"),
    ({"instances": [{"remainingCpu": 1, "remainingMemory": 1}]}, "instances[0].instanceId"),
    ({"instances": [{"instanceId": "i", "remainingCpu": "1", "remainingMemory": 1}]},
     "instances[0].remainingCpu"),
    ({"instances": [{"instanceId": "i", "remainingCpu": 1, "remainingMemory": 1,
                     "usedPorts": ["eighty"]}]}, "instances[0].usedPorts[0]"),
    ({"instances": [{"instanceId": "i", "remainingCpu": 1, "remainingMemory": 1},
                    {"instanceId": "i", "remainingCpu": 1, "remainingMemory": 1}]},
     "instances[1].instanceId"),
    ({"instances": [{"instanceId": "i", "remainingCpu": 1, "remainingMemory": 1,
                     "attributes": {"a": 1}}]}, "instances[0].attributes"),
], ids=["not-a-list", "format", "no-id", "cpu-not-int", "bad-port", "duplicate", "attr-value"])
def test_bad_snapshot_names_the_field(data, field):
    with pytest.raises(PlacementError) as caught:
        snapshot_from_dict(data)
    assert caught.value.field == field


@pytest.mark.parametrize("data, field", [
    ({}, "tasks"),
    ({"tasks": [{"memory": -1}]}, "tasks[0].memory"),
    ({"tasks": [{"count": 0}]}, "tasks[0].count"),
    ({"tasks": [{"constraints": [{"type": "memberOf", "expression": "foo == 1"}]}]},
     "tasks[0].constraints[0].expression"),
    ({"tasks": [{"placementStrategy": [{"type": "binpack"}]}]}, "tasks[0].placementStrategy[0].field"),
    ({"tasks": [{"name": "a"}, {"name": "a"}]}, "tasks[1].name"),
], ids=["no-tasks", "negative-memory", "zero-count", "bad-expression", "bad-strategy", "dup-name"])
def test_bad_workload_names_the_field(data, field):
    with pytest.raises(PlacementError) as caught:
        workload_from_dict(data)
    assert caught.value.field == field


def test_config_errors():
    with pytest.raises(PlacementError, match="at least one strategy"):
        run_sim(SimConfig(strategies=()), fake_clock())
    with pytest.raises(PlacementError) as caught:
        run_sim(SimConfig(instances=-1), fake_clock())
    assert caught.value.field == "instances"
