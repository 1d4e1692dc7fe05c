"""The binding filters: one ordered table, each filter both decides and explains.

An instance can take a task only if it passes every filter of `filters_for(task)`: the
table `FILTERS`, in order, then one filter per placement constraint in the task's order
(`CONSTRAINT_FILTERS` maps a constraint type to its filter). The first failure is the
instance's verdict. Every other part of the scheduler reads the filters from here:

    pipeline   explain (every filter's words), reject (first failure, counted summaries)
    engine     the indexes: `stage` says when a filter is evaluated, `minimum` turns it
               into one comparison and a bound for the walk along a sorted index

A filter is one object with

    name, reasons       the name shown per instance; the ECS reason codes it can give
    stage               STATIC:  depends on the instance and the task's shape only (checked
                                 once, when the engine builds an index for the shape)
                        PLACED:  also on what the batch placed on the instance (re-checked
                                 whenever a placement or departure touches the instance)
                        FIT:     on the task's size (checked per candidate instance)
    passes(state, k, task)   the decision
    result(state, k, task)   the decision with its words, a FilterResult (None: nothing to
                             show on this instance, and then `passes` is true)
    summary(state, task, n, positions)   the counted line for n instances failing it

and hooks for the engine: `relevant(task)` (False: every instance passes it for this task),
`passing(state, task)` (`passes` for all instances as one list, when it is at hand),
`only_with` (the task fields `relevant` looks at, when that is all it does) and, for FIT
filters, `minimum` = ``(array, field)`` when passing is exactly
``getattr(state, array)[k] >= getattr(task, field)``.
STATIC and PLACED filters may read from the task only its shape: `target_instances`,
`constraints`, and `group` when `uses_group` (the engine keys its indexes by that).

Adding a filter: write its class here and put an instance in `FILTERS` (or a constraint
type in `CONSTRAINT_FILTERS`). Nothing else changes; tests/unit/test_scheduler_properties.py
checks every filter's `passes` against its `result`, the engine against the filters, and both
against a plain reference.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from controlplane.scheduler.expression import Constraint
from controlplane.scheduler.model import FilterResult, TaskRequest
from controlplane.scheduler.state import ClusterState

__all__ = ["CONSTRAINT_FILTERS", "FILTERS", "FIT", "Filter", "LIST_AT_MOST", "PLACED",
           "REASONS", "STATIC", "filters_for", "summary_rank"]

STATIC, PLACED, FIT = "static", "placed", "fit"

# Reason codes a Rejection can carry (ECS's RunTask/StartTask failure reasons, plus two for
# constraints, which ECS reports in words). TARGET (an instance StartTask did not name) only
# shows in explanations: a rejection leaves those instances out.
REASONS = {
    "MISSING": "StartTask named an instance that is not in the cluster",
    "INACTIVE": "the instance is not ACTIVE (DRAINING, INACTIVE, ...)",
    "AGENT": "the instance's agent is not connected (or the cluster has no instances)",
    "RESOURCE:CPU": "not enough CPU units left",
    "RESOURCE:MEMORY": "not enough memory left",
    "RESOURCE:PORTS": "a fixed TCP host port is taken, or the dynamic range is exhausted",
    "RESOURCE:PORTS_UDP": "a fixed UDP host port is taken",
    "DISTINCT_INSTANCE": "distinctInstance: a task of the same group already runs there",
    "ATTRIBUTE": "a memberOf constraint's expression is false for the instance",
}

# How many instances failing the same filter are listed one by one before being counted.
LIST_AT_MOST = 3


class Filter:
    """One binding rule (see the module docstring for the contract of each member)."""

    name: str = ""
    reasons: tuple[str, ...] = ()
    stage: str = STATIC
    uses_group = False
    list_at_most = LIST_AT_MOST

    def passes(self, state: ClusterState, k: int, task: TaskRequest) -> bool:
        raise NotImplementedError

    def result(self, state: ClusterState, k: int, task: TaskRequest) -> FilterResult | None:
        raise NotImplementedError

    def summary(self, state: ClusterState, task: TaskRequest, n: int,
                positions: list[int]) -> str:
        """The line for `n` instances failing this filter (`positions`: those in the snapshot)."""
        raise NotImplementedError

    # Task fields of which at least one must be non-empty for the filter to reject anything
    # (empty: no such field); `relevant` follows from it, and the engine tests them in bulk.
    only_with: tuple[str, ...] = ()

    def relevant(self, task: TaskRequest) -> bool:
        """False when every instance passes this filter for `task` (the engine may skip it)."""
        return not self.only_with or any(getattr(task, name) for name in self.only_with)

    def passing(self, state: ClusterState, task: TaskRequest) -> Sequence[bool] | None:
        """`passes` for every instance at once, when the filter has that list ready (the
        engine's index build uses it); None: ask `passes` per instance."""
        return None

    # (ClusterState array, TaskRequest field) when `passes` is exactly
    # ``getattr(state, array)[k] >= getattr(task, field)``; the engine then compares inline.
    minimum: tuple[str, str] | None = None

    def _result(self, passed: bool, reason: str, detail: str) -> FilterResult:
        return FilterResult(self.name, passed, "" if passed else reason, detail)

    def __repr__(self) -> str:
        return f"<filter {self.name}>"


def _amount(shortage: str, need: int, free: int) -> str:
    return f"need {need}, free {free}" if need <= free else f"{shortage} (need {need}, free {free})"


class _Target(Filter):
    name, reasons = "target", ("TARGET",)

    def relevant(self, task):
        return task.target_instances is not None

    def passes(self, state, k, task):
        return task.target_instances is None or state.ids[k] in task.target_instances

    def result(self, state, k, task):
        if self.passes(state, k, task):
            return None  # only StartTask's instances are shown as targeted or not
        return self._result(False, "TARGET", "not one of the instances StartTask named")

    def summary(self, state, task, n, positions):
        return f"{n} instances not in the cluster"


class _Status(Filter):
    name, reasons, list_at_most = "status", ("INACTIVE",), 1

    def passes(self, state, k, task):
        return state.active[k]

    def passing(self, state, task):
        return state.active

    def result(self, state, k, task):
        return self._result(self.passes(state, k, task), "INACTIVE",
                            f"status {state.instances[k].status}")

    def summary(self, state, task, n, positions):
        return f"{n} instances not ACTIVE"


class _Agent(Filter):
    name, reasons, list_at_most = "agent", ("AGENT",), 1

    def passes(self, state, k, task):
        return state.connected[k]

    def passing(self, state, task):
        return state.connected

    def result(self, state, k, task):
        passed = self.passes(state, k, task)
        return self._result(passed, "AGENT", "agent connected" if passed else "agent not connected")

    def summary(self, state, task, n, positions):
        return f"{n} instances with agent not connected"


class _Resource(Filter):
    """Enough of one resource left: ``getattr(state, array)[k] >= getattr(task, field)``."""

    stage = FIT

    def __init__(self, name: str, reason: str, array: str, field: str, words: str) -> None:
        self.name, self.reasons, self.minimum = name, (reason,), (array, field)
        self.array, self.field, self.words = array, field, words

    def passes(self, state, k, task):
        return getattr(state, self.array)[k] >= getattr(task, self.field)

    def result(self, state, k, task):
        need, free = getattr(task, self.field), getattr(state, self.array)[k]
        return self._result(free >= need, self.reasons[0],
                            _amount(f"insufficient {self.words}", need, free))

    def summary(self, state, task, n, positions):
        values = getattr(state, self.array)
        return (f"{n} instances with insufficient {self.words} (need "
                f"{getattr(task, self.field)}, free at most {max(values[k] for k in positions)})")


class _Ports(Filter):
    """Fixed host ports: free when no (port, protocol) of the task is in use on the instance."""

    name, reasons, stage = "ports", ("RESOURCE:PORTS", "RESOURCE:PORTS_UDP"), FIT
    only_with = ("fixed_ports",)

    def passes(self, state, k, task):
        return not task.fixed_ports or state.ports_free(k, task)

    def result(self, state, k, task):
        if self.passes(state, k, task):
            listed = ", ".join(f"{port}/{proto}" for port, proto in task.fixed_ports)
            return self._result(True, "", f"host port {listed} free" if listed
                                else "no fixed host port")
        taken = sorted(p for p in task.fixed_ports if p in state.ports[k])
        # UDP only when every taken port is UDP: ECS reports TCP conflicts as RESOURCE:PORTS.
        udp = all(proto == "udp" for _, proto in taken)
        listed = ", ".join(f"{port}/{proto}" for port, proto in taken)
        return self._result(False, "RESOURCE:PORTS_UDP" if udp else "RESOURCE:PORTS",
                            f"host port {listed} in use")

    def summary(self, state, task, n, positions):
        taken = sorted({p for k in positions for p in task.fixed_ports if p in state.ports[k]})
        return (f"{n} instances with host port "
                f"{', '.join(f'{p}/{q}' for p, q in taken)} in use")


class _DynamicPorts(Filter):
    """Slots of the instance's dynamic host port range: the task's dynamic ports plus its fixed
    ports that fall in the range on numbers not in use there yet (`ClusterState.dynamic_need`).
    A task that needs no slot passes, even where the range is already over-full."""

    name, reasons, stage = "dynamicPorts", ("RESOURCE:PORTS",), FIT
    only_with = ("dynamic_ports", "fixed_ports")

    def passes(self, state, k, task):
        return state.dynamic_fits(k, task)

    def result(self, state, k, task):
        need = state.dynamic_need(k, task)
        if not need:
            return None  # nothing taken from the range here
        free = state.free_dynamic_ports(k)
        return self._result(need <= free, "RESOURCE:PORTS",
                            _amount("not enough dynamic host ports", need, free))

    def summary(self, state, task, n, positions):
        return f"{n} instances without {task.dynamic_ports} free dynamic host ports"


class _DistinctInstance(Filter):
    """ECS distinctInstance: no other task of the task's group on the instance, counting the
    tasks the batch placed there (a task with no group shares the empty group)."""

    name, reasons, stage, uses_group = "distinctInstance", ("DISTINCT_INSTANCE",), PLACED, True

    def __init__(self, index: int, constraint: Constraint) -> None:
        self.constraint = constraint

    def passes(self, state, k, task):
        return not (state.running[k] and state.groups(k).get(task.group, 0))

    def result(self, state, k, task):
        passed = self.passes(state, k, task)
        return self._result(passed, "DISTINCT_INSTANCE",
                            f"{'no' if passed else 'already runs a'} task of group "
                            f"{task.group or '(none)'}" + ("" if passed else " (distinctInstance)"))

    def summary(self, state, task, n, positions):
        return f"{n} instances already running a task of group {task.group or '(none)'}"


class _MemberOf(Filter):
    """A memberOf expression on the instance, with the groups and count the batch left there.
    STATIC unless the expression reads task groups or the running count."""

    reasons = ("ATTRIBUTE",)

    def __init__(self, index: int, constraint: Constraint) -> None:
        assert constraint.parsed is not None
        self.name = f"memberOf[{index}]"
        self.constraint = constraint
        self.root = constraint.parsed.root
        self.stage = PLACED if constraint.parsed.dynamic else STATIC

    def passes(self, state, k, task):
        running = state.running[k]
        return self.root.holds(state.instances[k], state.groups(k) if running else (), running)

    def result(self, state, k, task):
        passed = self.passes(state, k, task)
        return self._result(passed, "ATTRIBUTE", f"memberOf {self.constraint.expression} is "
                                                 f"{'true' if passed else 'false'}")

    def summary(self, state, task, n, positions):
        return f"{n} instances: memberOf {self.constraint.expression} is false"


# The order is the order of evaluation: an instance's verdict is its first failure, so the
# cheap instance-level filters come before the resources, and constraints come last.
FILTERS: tuple[Filter, ...] = (
    _Target(), _Status(), _Agent(),
    _Resource("cpu", "RESOURCE:CPU", "cpu", "cpu", "CPU"),
    _Resource("memory", "RESOURCE:MEMORY", "mem", "memory", "memory"),
    _Ports(), _DynamicPorts())

# Constraint type -> its filter, built per constraint (with its position in the task's list).
CONSTRAINT_FILTERS = {"distinctInstance": _DistinctInstance, "memberOf": _MemberOf}


@lru_cache(maxsize=1024)
def _constraint_filters(constraints: tuple[Constraint, ...]) -> tuple[Filter, ...]:
    return tuple(CONSTRAINT_FILTERS[c.type](index, c) for index, c in enumerate(constraints))


def filters_for(task: TaskRequest) -> tuple[Filter, ...]:
    """Every filter `task` must pass, in evaluation order: `FILTERS`, then its constraints."""
    if not task.constraints:
        return FILTERS
    return FILTERS + _constraint_filters(task.constraints)


def summary_rank(filter_: Filter) -> tuple[int, str]:
    """Where a filter's counted line goes in a rejection: table order, then constraint type
    in `CONSTRAINT_FILTERS` order, then name."""
    if filter_ in FILTERS:
        return FILTERS.index(filter_), filter_.name
    kinds = list(CONSTRAINT_FILTERS.values())
    return len(FILTERS) + kinds.index(type(filter_)), filter_.name


def by_stage(filters: Sequence[Filter], stage: str) -> tuple[Filter, ...]:
    return tuple(f for f in filters if f.stage == stage)
