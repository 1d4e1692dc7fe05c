"""The service controller's decisions: rolling deployments, scaling, replacement, DAEMON."""

from __future__ import annotations

import pytest

from controlplane.deployments import (ACTIVE, COMPLETED, FAILED, PRIMARY, Deployment, Placement,
                                      ServiceSpec, TaskView, backoff_ms, failure_threshold,
                                      reconcile)
from skiffcore.status import TaskStatus as S

NOW = 1_000_000


def service(desired=3, deployments=("new",), min_pct=100, max_pct=200, **kw) -> ServiceSpec:
    deps = [Deployment(d, f"arn:td/{d}", PRIMARY if n == 0 else ACTIVE)
            for n, d in enumerate(deployments)]
    return ServiceSpec("web", desired, deps, [], minimum_healthy_percent=min_pct,
                       maximum_percent=max_pct, healthy_after_ms=10_000, **kw)


def task(tid, dep="new", status=S.RUNNING, started=NOW - 60_000, instance="i-1", **kw) -> TaskView:
    return TaskView(tid, dep, instance, status, kw.pop("desired", S.RUNNING), started, **kw)


def started(decision) -> int:
    return sum(p.count for p in decision.start)


def stopped(decision) -> list[str]:
    return sorted(task_id for task_id, _ in decision.stop)


def test_new_service_starts_desired_count():
    d = reconcile(service(desired=3), [], NOW)
    assert d.start == [Placement("new", 3)] and d.stop == []


def test_steady_state_completes_the_rollout_once():
    svc = service(desired=2)
    d = reconcile(svc, [task("a"), task("b")], NOW)
    assert (started(d), d.stop, d.changed) == (0, [], True)
    assert svc.deployments[0].rollout_state == COMPLETED
    assert svc.events[0].message == "(service web) has reached a steady state."
    assert svc.last_completed_task_definition == "arn:td/new"
    again = reconcile(svc, [task("a"), task("b")], NOW)
    assert not again.changed and len(svc.events) == 1


def test_tasks_not_yet_healthy_keep_the_rollout_in_progress():
    svc = service(desired=1)
    reconcile(svc, [task("a", started=NOW - 1000)], NOW)
    assert svc.deployments[0].rollout_state == "IN_PROGRESS"


@pytest.mark.parametrize("old, new, expect_start, expect_stop", [
    (4, [], 0, ["o0", "o1"]),                     # make room: down to the minimum (2)
    (2, [], 2, []),                               # then start replacements up to the maximum
    (2, [("n0", False), ("n1", False)], 0, []),   # wait until the new ones are healthy
    (2, [("n0", True), ("n1", True)], 0, ["o0", "o1"]),
    (0, [("n0", True), ("n1", True)], 2, []),
], ids=["stop-to-minimum", "start-within-maximum", "wait-for-health", "replace-old", "finish"])
def test_rolling_update_min_50_max_100(old, new, expect_start, expect_stop):
    svc = service(desired=4, deployments=("new", "old"), min_pct=50, max_pct=100)
    tasks = [task(f"o{n}", dep="old", started=NOW - 100_000 + n) for n in range(old)]
    tasks += [task(tid, started=NOW - (60_000 if ok else 1000)) for tid, ok in new]
    d = reconcile(svc, tasks, NOW)
    assert started(d) == expect_start and stopped(d) == expect_stop
    running_after = sum(1 for t in tasks if t.task_id not in stopped(d))
    assert running_after >= 2


def test_default_100_200_starts_all_new_before_stopping():
    svc = service(desired=3, deployments=("new", "old"))
    d = reconcile(svc, [task(f"o{n}", dep="old") for n in range(3)], NOW)
    assert started(d) == 3 and d.stop == []


def test_old_deployment_goes_inactive_when_done():
    svc = service(desired=2, deployments=("new", "old"))
    reconcile(svc, [task("a"), task("b")], NOW)
    assert [d.id for d in svc.deployments] == ["new"]


def test_scale_in_keeps_the_spread():
    svc = service(desired=3)
    tasks = [task("a", instance="i-1"), task("b", instance="i-1"), task("c", instance="i-1"),
             task("d", instance="i-2"), task("e", instance="i-3")]
    d = reconcile(svc, tasks, NOW)
    assert len(d.stop) == 2
    assert {t.instance_id for t in tasks if t.task_id in stopped(d)} == {"i-1"}


def test_unhealthy_task_is_replaced():
    svc = service(desired=2)
    d = reconcile(svc, [task("a"), task("b", has_health_check=True, health="UNHEALTHY")], NOW)
    assert stopped(d) == ["b"] and started(d) == 1


def test_stopped_task_is_replaced():
    svc = service(desired=2)
    d = reconcile(svc, [task("a"), task("b", status=S.STOPPED, desired=S.STOPPED,
                                        stop_code="EssentialContainerExited", stopped_at_ms=NOW)],
                  NOW + 10_000)
    assert started(d) == 1


def test_lost_instance_tasks_are_replaced_and_stopped():
    svc = service(desired=2)
    d = reconcile(svc, [task("a", instance="i-1"), task("b", instance="i-2", instance_lost=True)],
                  NOW)
    assert stopped(d) == ["b"] and started(d) == 1


def test_draining_instance_tasks_move():
    svc = service(desired=2)
    tasks = [task("a", instance="i-1"), task("b", instance="i-2", instance_draining=True)]
    d = reconcile(svc, tasks, NOW)
    assert started(d) == 1 and stopped(d) == []  # 100% minimum: replacement first
    tasks.append(task("c", instance="i-3"))
    d = reconcile(svc, tasks, NOW)
    assert stopped(d) == ["b"] and started(d) == 0


def test_failures_back_off_exponentially():
    svc = service(desired=1)
    failed = [task(f"f{n}", status=S.STOPPED, desired=S.STOPPED, stop_code="TaskFailedToStart",
                   stopped_at_ms=NOW - 1000 + n) for n in range(4)]
    d = reconcile(svc, failed, NOW)
    assert d.backoff_until_ms == NOW - 1000 + 3 + backoff_ms(4 - 1)
    assert started(d) == 0
    assert "4 tasks failed to start; waiting 4 s" in svc.events[0].message
    assert started(reconcile(svc, failed, d.backoff_until_ms)) == 1


@pytest.mark.parametrize("desired, threshold", [(1, 10), (30, 15), (1000, 200)])
def test_failure_threshold(desired, threshold):
    assert failure_threshold(desired) == threshold


def test_circuit_breaker_fails_and_rolls_back():
    svc = service(desired=2, deployments=("bad",), circuit_breaker_enable=True,
                  circuit_breaker_rollback=True, last_completed_task_definition="arn:td/good")
    failed = [task(f"f{n}", dep="bad", status=S.STOPPED, desired=S.STOPPED,
                   stop_code="TaskFailedToStart", stopped_at_ms=NOW - 1000) for n in range(10)]
    d = reconcile(svc, failed, NOW, new_deployment_id="rollback")
    bad = next(x for x in svc.deployments if x.id == "bad")
    assert bad.rollout_state == FAILED and bad.status == ACTIVE
    assert svc.deployments[0].id == "rollback" and svc.deployments[0].status == PRIMARY
    assert svc.deployments[0].task_definition_arn == "arn:td/good"
    assert any("deployment failed" in e.message for e in svc.events)
    assert d.changed


def test_circuit_breaker_threshold_is_configurable():
    svc = service(desired=2, deployments=("bad",), circuit_breaker_enable=True,
                  circuit_breaker_threshold=3)
    failed = [task(f"f{n}", dep="bad", status=S.STOPPED, desired=S.STOPPED,
                   stop_code="TaskFailedToStart", stopped_at_ms=0) for n in range(3)]
    reconcile(svc, failed, NOW)
    assert svc.deployments[0].rollout_state == FAILED


def test_circuit_breaker_without_rollback_stops_starting():
    svc = service(desired=2, deployments=("bad",), circuit_breaker_enable=True)
    failed = [task(f"f{n}", dep="bad", status=S.STOPPED, desired=S.STOPPED,
                   stop_code="TaskFailedToStart", stopped_at_ms=0) for n in range(10)]
    d = reconcile(svc, failed, NOW)
    assert svc.deployments[0].rollout_state == FAILED and started(d) == 0


def test_daemon_one_task_per_eligible_instance():
    svc = service(desired=0, scheduling_strategy="DAEMON")
    tasks = [task("a", instance="i-1"), task("b", instance="i-4", instance_draining=True)]
    d = reconcile(svc, tasks, NOW, eligible_instances=["i-1", "i-2", "i-3"])
    assert sorted(p.instance_id for p in d.start) == ["i-2", "i-3"]
    assert stopped(d) == ["b"]
    assert svc.desired_count == 3


def test_daemon_replaces_old_deployment_per_instance():
    svc = service(desired=0, deployments=("new", "old"), scheduling_strategy="DAEMON")
    d = reconcile(svc, [task("a", dep="old", instance="i-1")], NOW, eligible_instances=["i-1"])
    assert stopped(d) == ["a"] and d.start == []
    d = reconcile(svc, [], NOW, eligible_instances=["i-1"])
    assert d.start == [Placement("new", 1, "i-1")]
