"""The service controller's decisions: rolling deployments, scaling, replacement, DAEMON."""

from __future__ import annotations

import pytest

from controlplane.deployments import (ACTIVE, COMPLETED, FAILED, PRIMARY, SCHEDULER_STOP, Deployment,
                                      Placement,
                                      ServiceSpec, TaskView, backoff_ms, failure_threshold,
                                      reconcile)
from skiffcore.status import HealthStatus, TaskStatus as S

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
    d = reconcile(svc, [task("a"), task("b", has_health_check=True, health=HealthStatus.UNHEALTHY)], NOW)
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


# A deployment that arrives while the service's tasks are still inside their health grace
# (or their health checks have not passed yet), replayed pass by pass against a clock: the
# controller applies each decision, the agents fail every task of the broken revision.

class Replay:
    """Applies decisions as the controller and agents would: stops take effect at once, new
    tasks of `failing` deployments fail to start at the next pass, others start RUNNING."""

    def __init__(self, svc: ServiceSpec, tasks: list[TaskView], failing: set[str],
                 now: int = NOW) -> None:
        self.svc, self.tasks, self.failing, self.now = svc, tasks, failing, now
        self.lowest_running = self.running()
        self.counter = 0

    def running(self) -> int:
        return sum(1 for t in self.tasks if t.alive and t.status == S.RUNNING)

    def step(self, seconds: int = 1) -> None:
        d = reconcile(self.svc, self.tasks, self.now, new_deployment_id=f"rb{self.counter}")
        self.counter += 1
        gone = dict(d.stop)
        for t in self.tasks:
            if t.task_id in gone:
                t.status, t.desired, t.stop_code = S.STOPPED, S.STOPPED, SCHEDULER_STOP
                t.stopped_at_ms = self.now
        self.lowest_running = min(self.lowest_running, self.running())
        for t in self.tasks:  # last pass's starts come up, or fail to pull
            if t.alive and t.status == S.PENDING:
                if t.deployment_id in self.failing:
                    t.status, t.desired, t.stop_code = S.STOPPED, S.STOPPED, "TaskFailedToStart"
                    t.stopped_at_ms = self.now
                else:
                    t.status, t.started_at_ms = S.RUNNING, self.now
        for placement in d.start:
            for _ in range(placement.count):
                self.tasks.append(TaskView(f"t{len(self.tasks)}", placement.deployment_id, "i-1",
                                           S.PENDING, S.RUNNING))
        self.lowest_running = min(self.lowest_running, self.running())
        self.now += seconds * 1000


def young_service(desired: int, **kw) -> tuple[ServiceSpec, list[TaskView]]:
    """A service whose first deployment is RUNNING but younger than the grace (10 s here)."""
    svc = service(desired=desired, deployments=("bad", "first"), circuit_breaker_enable=True,
                  circuit_breaker_rollback=True, **kw)
    svc.deployments[0].task_definition_arn = "arn:aws:ecs:local:0:task-definition/web:2"
    tasks = [task(f"o{n}", dep="first", started=NOW - 3_000) for n in range(desired)]
    return svc, tasks


@pytest.mark.parametrize("health_checks", [False, True], ids=["grace", "checks-not-passed"])
def test_update_inside_the_grace_never_goes_below_the_minimum(health_checks):
    svc, tasks = young_service(6)
    for t in tasks:
        t.has_health_check = health_checks  # health UNKNOWN: not passed yet
    replay = Replay(svc, tasks, failing={"bad"})
    for _ in range(120):
        replay.step()
    assert replay.lowest_running == 6
    bad = next(x for x in svc.deployments if x.id == "bad")
    assert bad.rollout_state == FAILED
    # Nothing completed before, so nothing to roll back to: the first revision keeps serving.
    assert all(t.alive and t.status == S.RUNNING for t in tasks[:6])
    messages = [e.message for e in svc.events]
    assert any("could not roll back: no earlier deployment reached COMPLETED; keeping the 6 "
               "running tasks" in m for m in messages)
    assert not any("waiting" in m for m in messages[:messages.index(next(
        m for m in messages if "deployment failed" in m))])  # no back-off after FAILED


def test_update_inside_the_grace_with_min_50_keeps_half():
    svc, tasks = young_service(4, min_pct=50)
    replay = Replay(svc, tasks, failing={"bad"})
    for _ in range(60):
        replay.step()
    assert replay.lowest_running == 2


def test_update_inside_the_grace_replaces_old_tasks_once_new_ones_are_healthy():
    svc, tasks = young_service(3)
    replay = Replay(svc, tasks, failing=set())
    for _ in range(30):
        replay.step()
    assert replay.lowest_running == 3
    alive = [t for t in tasks if t.alive]
    assert len(alive) == 3 and {t.deployment_id for t in alive} == {"bad"}
    assert svc.deployments[0].rollout_state == COMPLETED


def test_old_tasks_that_never_ran_go_at_once():
    svc = service(desired=2, deployments=("new", "old"))
    tasks = [task("r0", dep="old"), task("r1", dep="old"),
             task("p0", dep="old", status=S.PENDING)]
    d = reconcile(svc, tasks, NOW)
    assert stopped(d) == ["p0"]


def test_young_task_on_a_draining_instance_waits_for_its_replacement():
    svc = service(desired=2)
    tasks = [task("a"), task("b", started=NOW - 1000, instance_draining=True)]
    d = reconcile(svc, tasks, NOW)
    assert started(d) == 1 and stopped(d) == []


def test_rollback_event_names_the_revision():
    svc = service(desired=2, deployments=("bad",), circuit_breaker_enable=True,
                  circuit_breaker_rollback=True,
                  last_completed_task_definition="arn:aws:ecs:local:0:task-definition/web:1")
    failed = [task(f"f{n}", dep="bad", status=S.STOPPED, desired=S.STOPPED,
                   stop_code="TaskFailedToStart", stopped_at_ms=NOW - 1000) for n in range(10)]
    reconcile(svc, failed, NOW, new_deployment_id="rollback")
    assert svc.events[0].message == ("(service web) rolling back to task definition web:1 "
                                     "(deployment rollback).")


def test_failed_deployment_still_scales_in_to_zero():
    svc, tasks = young_service(3)
    replay = Replay(svc, tasks, failing={"bad"})
    for _ in range(60):
        replay.step()
    assert svc.deployments[0].rollout_state == FAILED and replay.running() == 3
    svc.desired_count = 0  # as a deleted service drains
    d = reconcile(svc, tasks, replay.now)
    assert stopped(d) == ["o0", "o1", "o2"]
