"""The agent's decision table: (desired, known, containers) -> next action, and the pure rules
behind it (dependsOn resolution, restart policy, task health, stop order, which assignment sets
are taken)."""

from __future__ import annotations

import pytest

from agent.decision import (Action, ContainerPhase as P, Dependency, HealthStatus as H, Observed,
                            Resolution as R, RestartPolicy, dependency_failure, next_action,
                            older_set, resolve, should_restart, stop_order, task_health)
from skiffcore.status import TaskStatus as S


def c(phase: P, essential: bool = True, name: str = "app", **fields) -> Observed:
    return Observed(name, essential, phase, **fields)


def dep(name: str, condition: str) -> tuple[Dependency, ...]:
    return (Dependency(name, condition),)


@pytest.mark.parametrize("desired, known, containers, action", [
    (S.RUNNING, S.PENDING, [c(P.ABSENT)], Action.CREATE),
    (S.RUNNING, S.PENDING, [c(P.RUNNING), c(P.ABSENT, name="b")], Action.CREATE),
    (S.RUNNING, S.PENDING, [c(P.CREATED)], Action.START),
    (S.RUNNING, S.PENDING, [c(P.RUNNING)], Action.REPORT_RUNNING),
    (S.RUNNING, S.RUNNING, [c(P.RUNNING)], Action.WAIT),
    (S.RUNNING, S.RUNNING, [c(P.RUNNING), c(P.EXITED, essential=False, name="side")], Action.WAIT),
    (S.RUNNING, S.RUNNING, [c(P.EXITED), c(P.RUNNING, essential=False, name="side")], Action.STOP),
    (S.RUNNING, S.RUNNING, [c(P.EXITED), c(P.EXITED, essential=False, name="side")],
     Action.REPORT_STOPPED),
    (S.RUNNING, S.PENDING, [c(P.EXITED)], Action.REPORT_STOPPED),
    (S.STOPPED, S.RUNNING, [c(P.RUNNING)], Action.STOP),
    (S.STOPPED, S.RUNNING, [c(P.EXITED)], Action.REPORT_STOPPED),
    (S.STOPPED, S.PENDING, [c(P.ABSENT)], Action.REPORT_STOPPED),
    (S.STOPPED, S.PENDING, [c(P.CREATED)], Action.REPORT_STOPPED),
    (S.STOPPED, S.STOPPED, [c(P.EXITED)], Action.DONE),
    (S.RUNNING, S.STOPPED, [c(P.RUNNING)], Action.DONE),
    (S.RUNNING, S.RUNNING, [c(P.ABSENT)], Action.REPORT_STOPPED),
    (S.RUNNING, S.RUNNING, [c(P.ABSENT), c(P.RUNNING, essential=False, name="side")], Action.STOP),
    (S.RUNNING, S.RUNNING, [c(P.RUNNING), c(P.ABSENT, essential=False, name="side")], Action.WAIT),
], ids=["create-missing", "create-second", "start-created", "report-running", "steady",
        "non-essential-exit-keeps-task", "essential-exit-stops-others", "essential-exit-all-down",
        "exited-before-running", "stop-requested", "stop-requested-already-down",
        "stop-before-create", "stop-created-never-started", "done", "stopped-is-final",
        "vanished-after-running-is-not-recreated", "vanished-essential-stops-others",
        "vanished-non-essential-keeps-task"])
def test_next_action(desired, known, containers, action):
    assert next_action(desired, known, containers) == action


HC = {"health_check": True}


@pytest.mark.parametrize("known, containers, action", [
    # START: the dependency must have started.
    (S.PENDING, [c(P.CREATED, name="db"), c(P.CREATED, depends_on=dep("db", "START"))], Action.START),
    (S.PENDING, [c(P.RUNNING, name="db"), c(P.CREATED, depends_on=dep("db", "START"))], Action.START),
    (S.PENDING, [c(P.EXITED, False, "db", exit_code=1), c(P.CREATED, depends_on=dep("db", "START"))],
     Action.START),
    # COMPLETE: it must have exited, with any code.
    (S.PENDING, [c(P.RUNNING, False, "init"), c(P.CREATED, depends_on=dep("init", "COMPLETE"))],
     Action.WAIT),
    (S.PENDING, [c(P.EXITED, False, "init", exit_code=3), c(P.CREATED, depends_on=dep("init", "COMPLETE"))],
     Action.START),
    # SUCCESS: it must have exited 0; another code never becomes 0.
    (S.PENDING, [c(P.RUNNING, False, "init"), c(P.CREATED, depends_on=dep("init", "SUCCESS"))],
     Action.WAIT),
    (S.PENDING, [c(P.EXITED, False, "init", exit_code=0), c(P.CREATED, depends_on=dep("init", "SUCCESS"))],
     Action.START),
    (S.PENDING, [c(P.EXITED, False, "init", exit_code=1), c(P.CREATED, depends_on=dep("init", "SUCCESS"))],
     Action.REPORT_STOPPED),
    (S.PENDING, [c(P.EXITED, False, "init", exit_code=1), c(P.RUNNING, name="other"),
                 c(P.CREATED, depends_on=dep("init", "SUCCESS"))], Action.STOP),
    # HEALTHY: it must run and pass its health check; once it exited it never will.
    (S.PENDING, [c(P.RUNNING, name="db", **HC), c(P.CREATED, depends_on=dep("db", "HEALTHY"))],
     Action.WAIT),
    (S.PENDING, [c(P.RUNNING, name="db", health=H.UNHEALTHY, **HC),
                 c(P.CREATED, depends_on=dep("db", "HEALTHY"))], Action.WAIT),
    (S.PENDING, [c(P.RUNNING, name="db", health=H.HEALTHY, **HC),
                 c(P.CREATED, depends_on=dep("db", "HEALTHY"))], Action.START),
    (S.PENDING, [c(P.EXITED, False, "db", exit_code=0, health=H.HEALTHY, **HC),
                 c(P.CREATED, depends_on=dep("db", "HEALTHY"))], Action.REPORT_STOPPED),
    (S.PENDING, [c(P.RUNNING, name="db", health=H.HEALTHY),
                 c(P.CREATED, depends_on=dep("db", "HEALTHY"))], Action.STOP),
    # Several dependencies: all must hold; a chain starts one link at a time.
    (S.PENDING, [c(P.RUNNING, name="db", health=H.HEALTHY, **HC), c(P.RUNNING, False, "init"),
                 c(P.CREATED, depends_on=(Dependency("db", "HEALTHY"), Dependency("init", "SUCCESS")))],
     Action.WAIT),
    (S.PENDING, [c(P.CREATED, name="a"), c(P.CREATED, name="b", depends_on=dep("a", "START")),
                 c(P.CREATED, name="c", depends_on=dep("b", "START"))], Action.START),
    # All others run: RUNNING is reported only once the waiting container started too.
    (S.PENDING, [c(P.RUNNING, name="db", **HC), c(P.CREATED, depends_on=dep("db", "HEALTHY"))],
     Action.WAIT),
    # A dependency about to be restarted is neither complete nor failed.
    (S.PENDING, [c(P.EXITED, False, "init", exit_code=1, restart=True),
                 c(P.CREATED, depends_on=dep("init", "SUCCESS"))], Action.RESTART),
], ids=["start-waits-for-nothing-but-start", "start-after-start", "start-after-exit",
        "complete-waits", "complete-any-code", "success-waits", "success-zero",
        "success-nonzero-stops", "success-nonzero-stops-the-live-ones", "healthy-waits-starting",
        "healthy-waits-unhealthy", "healthy-met", "healthy-exited-never", "healthy-without-check",
        "all-dependencies", "chain", "not-running-while-waiting", "restart-pending-dependency"])
def test_next_action_depends_on(known, containers, action):
    assert next_action(S.RUNNING, known, containers) == action


@pytest.mark.parametrize("desired, known, containers, action", [
    (S.RUNNING, S.RUNNING, [c(P.EXITED, exit_code=1, restart=True)], Action.RESTART),
    (S.RUNNING, S.RUNNING, [c(P.EXITED, exit_code=1, restart=True), c(P.RUNNING, False, "side")],
     Action.RESTART),
    (S.RUNNING, S.RUNNING, [c(P.RUNNING), c(P.EXITED, False, "side", exit_code=1, restart=True)],
     Action.RESTART),
    (S.RUNNING, S.PENDING, [c(P.EXITED, exit_code=1, restart=True)], Action.RESTART),
    (S.STOPPED, S.RUNNING, [c(P.EXITED, exit_code=1, restart=True)], Action.REPORT_STOPPED),
    (S.STOPPED, S.RUNNING, [c(P.EXITED, exit_code=1, restart=True), c(P.RUNNING, False, "side")],
     Action.STOP),
    (S.RUNNING, S.RUNNING, [c(P.EXITED, exit_code=0), c(P.EXITED, False, "side", restart=True)],
     Action.REPORT_STOPPED),
    (S.RUNNING, S.RUNNING, [c(P.ABSENT, restart=True)], Action.REPORT_STOPPED),
], ids=["essential-restarts-instead-of-stopping", "restart-keeps-others",
        "non-essential-restarts", "restart-before-running", "no-restart-when-stopping",
        "stop-wins-over-restart", "an-ended-essential-stops-the-task-first",
        "vanished-is-never-restarted"])
def test_next_action_restart(desired, known, containers, action):
    assert next_action(desired, known, containers) == action


@pytest.mark.parametrize("policy, exit_code, ran_for, restart", [
    (None, 1, 1000, False),
    (RestartPolicy(enabled=False), 1, 1000, False),
    (RestartPolicy(), 1, 300, True),
    (RestartPolicy(), 1, 299.9, False),
    (RestartPolicy(), 0, 1000, True),
    (RestartPolicy(ignored_exit_codes=(0, 3)), 0, 1000, False),
    (RestartPolicy(ignored_exit_codes=(0, 3)), 3, 1000, False),
    (RestartPolicy(ignored_exit_codes=(0, 3)), 137, 1000, True),
    (RestartPolicy(restart_attempt_period=60), 1, 61, True),
    (RestartPolicy(), None, 1000, False),
    (RestartPolicy(), 1, None, False),
], ids=["no-policy", "disabled", "ran-the-period", "exited-too-early", "zero-is-not-ignored-by-default",
        "ignored-zero", "ignored-other", "not-ignored", "custom-period", "no-exit-code",
        "unknown-run-time"])
def test_should_restart(policy, exit_code, ran_for, restart):
    assert should_restart(policy, exit_code, ran_for) is restart


@pytest.mark.parametrize("containers, health", [
    ([c(P.RUNNING)], H.UNKNOWN),
    ([c(P.RUNNING, health=H.HEALTHY, **HC)], H.HEALTHY),
    ([c(P.RUNNING, health=H.HEALTHY, **HC), c(P.RUNNING, name="b", **HC)], H.UNKNOWN),
    ([c(P.RUNNING, health=H.HEALTHY, **HC), c(P.RUNNING, name="b", health=H.UNHEALTHY, **HC)],
     H.UNHEALTHY),
    ([c(P.RUNNING, health=H.UNHEALTHY, **HC), c(P.RUNNING, name="b", **HC)], H.UNHEALTHY),
    ([c(P.RUNNING, health=H.HEALTHY, **HC), c(P.RUNNING, False, "side", health=H.UNHEALTHY, **HC)],
     H.HEALTHY),
    ([c(P.RUNNING, health=H.HEALTHY, **HC), c(P.RUNNING, name="plain")], H.HEALTHY),
], ids=["no-checks", "all-healthy", "one-still-unknown", "one-unhealthy", "unhealthy-beats-unknown",
        "non-essential-does-not-count", "containers-without-a-check-do-not-count"])
def test_task_health(containers, health):
    assert task_health(containers) == health


@pytest.mark.parametrize("condition, target, resolution", [
    ("START", c(P.CREATED, name="t"), R.WAIT),
    ("START", c(P.RUNNING, name="t"), R.MET),
    ("COMPLETE", c(P.EXITED, name="t", exit_code=9), R.MET),
    ("SUCCESS", c(P.EXITED, name="t", exit_code=9), R.NEVER),
    ("SUCCESS", c(P.EXITED, name="t"), R.NEVER),
    ("HEALTHY", c(P.RUNNING, name="t", health=H.HEALTHY, **HC), R.MET),
    ("HEALTHY", c(P.CREATED, name="t", **HC), R.WAIT),
    ("HEALTHY", c(P.RUNNING, name="t", health=H.HEALTHY), R.NEVER),
    ("START", None, R.NEVER),
    ("READY", c(P.EXITED, name="t", exit_code=0), R.NEVER),
], ids=["start-wait", "start-met", "complete", "success-failed", "success-gone", "healthy",
        "healthy-wait", "healthy-without-check", "missing-target", "unknown-condition"])
def test_resolve(condition, target, resolution):
    assert resolve(Dependency("t", condition), target)[0] == resolution


def test_dependency_failure_explains_itself():
    reason = dependency_failure([c(P.EXITED, False, "init", exit_code=2),
                                 c(P.CREATED, depends_on=dep("init", "SUCCESS"))])
    assert reason == ("DependencyError: container app depends on init (SUCCESS), "
                      "but it exited with code 2")
    assert dependency_failure([c(P.RUNNING, depends_on=dep("gone", "START"))]) == ""  # started


@pytest.mark.parametrize("containers, first", [
    ([c(P.RUNNING, name="db"), c(P.RUNNING, name="web", depends_on=dep("db", "START"))], ["web"]),
    ([c(P.RUNNING, name="db"), c(P.EXITED, name="web", depends_on=dep("db", "START"))], ["db"]),
    ([c(P.RUNNING, name="a"), c(P.RUNNING, name="b")], ["a", "b"]),
    ([c(P.RUNNING, name="db"), c(P.RUNNING, name="api", depends_on=dep("db", "START")),
      c(P.RUNNING, name="web", depends_on=dep("api", "START"))], ["web"]),
    ([c(P.EXITED, name="a")], []),
], ids=["dependent-first", "then-the-dependency", "independent-together", "chain-from-the-top",
        "nothing-runs"])
def test_stop_order(containers, first):
    assert stop_order(containers) == first


@pytest.mark.parametrize("offered, acted, older", [
    ((3, 40), None, False),
    ((3, 40), (3, 40), False),
    ((3, 41), (3, 40), False),
    ((3, 39), (3, 40), True),
    ((4, 20), (3, 40), False),
    ((2, 90), (3, 40), True),
    ((0, 0), (3, 40), True),
], ids=["first-set", "same-set-resent", "newer-revision", "older-revision", "newer-epoch-wins",
        "older-epoch-loses-whatever-its-revision", "unmarked-after-marked"])
def test_older_set(offered, acted, older):
    assert older_set(offered, acted) == older

