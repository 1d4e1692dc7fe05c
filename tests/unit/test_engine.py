"""The agent's decision table: (desired, known, containers) -> next action."""

from __future__ import annotations

import pytest

from agent.engine import Action, ContainerPhase as P, Observed, next_action
from skiffcore.status import TaskStatus as S


def c(phase: P, essential: bool = True, name: str = "app") -> Observed:
    return Observed(name, essential, phase)


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
