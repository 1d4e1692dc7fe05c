"""The placement pipeline evaluated in full, instance by instance, with words for each step.

This is what `explain` shows and what a `Rejection` carries. The fast engine (`engine`)
reaches the same decisions through indexes and only comes here when a task fits nowhere or
`explain` is asked.

Filters, in order (an instance must pass them all; the first failure is its verdict):

    status · agent · cpu · memory · ports · dynamicPorts · constraints in the task's order
    (distinctInstance, memberOf[i])

Strategies score feasible instances (lower is better) and rank them lexicographically in
chain order, then by instance id:

    binpack:cpu|memory   remaining CPU units / MiB       (least that still fits first)
    spread:instanceId    tasks of the task's group on the instance
    spread:attribute:X   tasks of the group on all instances sharing the instance's X value
                         (instances without X form one bucket of their own)
    random               position in a permutation of the instances seeded by the task id
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from controlplane.scheduler.expression import Constraint, Strategy
from controlplane.scheduler.model import (Explanation, FilterResult, InstanceExplanation,
                                          InstanceVerdict, Rejection, StrategyScore, TaskRequest)
from controlplane.scheduler.state import ClusterState, random_order

__all__ = ["REASONS", "explain", "holds", "reject", "scores", "verdict"]

# Reason codes a Rejection can carry (ECS's RunTask/StartTask failure reasons, plus two for
# constraints, which ECS reports in words).
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
_SUMMARY_ORDER = ("target", "status", "agent", "cpu", "memory", "ports", "dynamicPorts",
                  "distinctInstance")


# ---------------------------------------------------------------------------------------------
# Filters.

def _filters(state: ClusterState, k: int, task: TaskRequest, full: bool) -> list[FilterResult]:
    """Every filter's result for instance k (``full``), or up to the first failure."""
    results: list[FilterResult] = []

    def add(name: str, passed: bool, reason: str, detail: str) -> bool:
        results.append(FilterResult(name, passed, "" if passed else reason, detail))
        return passed or full

    instance = state.instances[k]
    if task.target_instances is not None and instance.instance_id not in task.target_instances:
        if not add("target", False, "TARGET", "not one of the instances StartTask named"):
            return results
    if not add("status", instance.status == "ACTIVE", "INACTIVE", f"status {instance.status}"):
        return results
    if not add("agent", instance.agent_connected, "AGENT",
               "agent connected" if instance.agent_connected else "agent not connected"):
        return results
    if not add("cpu", state.cpu[k] >= task.cpu, "RESOURCE:CPU",
               _amount("insufficient CPU", task.cpu, state.cpu[k])):
        return results
    if not add("memory", state.mem[k] >= task.memory, "RESOURCE:MEMORY",
               _amount("insufficient memory", task.memory, state.mem[k])):
        return results
    if task.fixed_ports and not state.ports_free(k, task):
        if not add("ports", False, *_ports_taken(state, k, task)):
            return results
    else:
        listed = ", ".join(f"{port}/{proto}" for port, proto in task.fixed_ports)
        add("ports", True, "", f"host port {listed} free" if listed else "no fixed host port")
    need = state.dynamic_need(k, task)
    if need:
        free = state.free_dynamic_ports(k)
        if not add("dynamicPorts", need <= free, "RESOURCE:PORTS",
                   _amount("not enough dynamic host ports", need, free)):
            return results
    for index, constraint in enumerate(task.constraints):
        if constraint.type == "distinctInstance":
            passed = state.groups(k).get(task.group, 0) == 0
            if not add("distinctInstance", passed, "DISTINCT_INSTANCE",
                       f"{'no' if passed else 'already runs a'} task of group "
                       f"{task.group or '(none)'}" + ("" if passed else " (distinctInstance)")):
                return results
        else:
            passed = holds(state, k, constraint)
            if not add(f"memberOf[{index}]", passed, "ATTRIBUTE",
                       f"memberOf {constraint.expression} is {'true' if passed else 'false'}"):
                return results
    return results


def _amount(shortage: str, need: int, free: int) -> str:
    return f"need {need}, free {free}" if need <= free else f"{shortage} (need {need}, free {free})"


def holds(state: ClusterState, k: int, constraint: Constraint) -> bool:
    """A memberOf constraint on instance k, with the batch's task groups and count."""
    assert constraint.parsed is not None
    groups = state.groups(k) if state.running[k] else ()
    return constraint.parsed.root.holds(state.instances[k], groups, state.running[k])


def verdict(state: ClusterState, k: int, task: TaskRequest) -> InstanceVerdict | None:
    """Instance k's first failed filter for `task`, or None when it can take the task.

    The same order and words as the explanation's filters, built only for the failure.
    """
    iid = state.ids[k]
    instance = state.instances[k]
    if task.target_instances is not None and iid not in task.target_instances:
        return InstanceVerdict(iid, "TARGET", f"{iid}: not targeted", "target")
    if instance.status != "ACTIVE":
        return InstanceVerdict(iid, "INACTIVE", f"{iid}: status {instance.status}", "status")
    if not instance.agent_connected:
        return InstanceVerdict(iid, "AGENT", f"{iid}: agent not connected", "agent")
    if state.cpu[k] < task.cpu:
        return InstanceVerdict(iid, "RESOURCE:CPU", f"{iid}: insufficient CPU "
                               f"(need {task.cpu}, free {state.cpu[k]})", "cpu")
    if state.mem[k] < task.memory:
        return InstanceVerdict(iid, "RESOURCE:MEMORY", f"{iid}: insufficient memory "
                               f"(need {task.memory}, free {state.mem[k]})", "memory")
    if task.fixed_ports and not state.ports_free(k, task):
        reason, detail = _ports_taken(state, k, task)
        return InstanceVerdict(iid, reason, f"{iid}: {detail}", "ports")
    if (task.dynamic_ports or task.fixed_ports) and not state.dynamic_fits(k, task):
        return InstanceVerdict(iid, "RESOURCE:PORTS", f"{iid}: " + _amount(
            "not enough dynamic host ports", state.dynamic_need(k, task),
            state.free_dynamic_ports(k)), "dynamicPorts")
    for index, constraint in enumerate(task.constraints):
        if constraint.type == "distinctInstance":
            if state.running[k] and state.groups(k).get(task.group, 0):
                return InstanceVerdict(iid, "DISTINCT_INSTANCE", f"{iid}: already runs a task of "
                                       f"group {task.group or '(none)'} (distinctInstance)",
                                       "distinctInstance")
        elif not holds(state, k, constraint):
            return InstanceVerdict(iid, "ATTRIBUTE", f"{iid}: memberOf {constraint.expression} "
                                   f"is false", f"memberOf[{index}]")
    return None


def _ports_taken(state: ClusterState, k: int, task: TaskRequest) -> tuple[str, str]:
    taken = sorted(p for p in task.fixed_ports if p in state.ports[k])
    udp = all(proto == "udp" for _, proto in taken)
    listed = ", ".join(f"{port}/{proto}" for port, proto in taken)
    return ("RESOURCE:PORTS_UDP" if udp else "RESOURCE:PORTS"), f"host port {listed} in use"


# ---------------------------------------------------------------------------------------------
# Rejections.

def reject(state: ClusterState, task: TaskRequest) -> Rejection:
    """The Rejection for a task no instance can take: each instance's reason, grouped."""
    verdicts: list[InstanceVerdict] = []
    if task.target_instances is not None:
        for iid in task.target_instances:
            if iid not in state.position:
                verdicts.append(InstanceVerdict(iid, "MISSING", f"{iid}: no such container "
                                                                f"instance", "target"))
    for k in range(state.n):
        found = verdict(state, k, task)
        if found is not None and found.reason != "TARGET":
            verdicts.append(found)
    if not verdicts:
        return Rejection(task.task_id, "AGENT", "no container instances in the cluster")
    counts = Counter(v.reason for v in verdicts)
    reason = max(counts, key=lambda r: (counts[r], r))
    return Rejection(task.task_id, reason, _describe(state, task, verdicts), tuple(verdicts))


def _describe(state: ClusterState, task: TaskRequest, verdicts: list[InstanceVerdict]) -> str:
    """One line per instance, except that many alike become one counted line:
    "i-3: insufficient memory (need 512, free 256); 2 instances not ACTIVE"."""
    by_filter: dict[str, list[InstanceVerdict]] = {}
    for item in verdicts:
        by_filter.setdefault(item.filter, []).append(item)
    counted = {name for name, items in by_filter.items()
               if len(items) > (1 if name in ("status", "agent") else LIST_AT_MOST)}
    parts = [v.detail for v in verdicts if v.filter not in counted]
    order = {name: i for i, name in enumerate(_SUMMARY_ORDER)}
    for name in sorted(counted, key=lambda f: (order.get(f, len(order)), f)):
        parts.append(_summary(state, task, name, by_filter[name]))
    return "; ".join(parts)


def _summary(state: ClusterState, task: TaskRequest, name: str,
             items: list[InstanceVerdict]) -> str:
    n = len(items)
    positions = [state.position[v.instance_id] for v in items if v.instance_id in state.position]
    if name == "status":
        return f"{n} instances not ACTIVE"
    if name == "agent":
        return f"{n} instances with agent not connected"
    if name == "target":
        return f"{n} instances not in the cluster"
    if name == "cpu":
        return (f"{n} instances with insufficient CPU "
                f"(need {task.cpu}, free at most {max(state.cpu[k] for k in positions)})")
    if name == "memory":
        return (f"{n} instances with insufficient memory "
                f"(need {task.memory}, free at most {max(state.mem[k] for k in positions)})")
    if name == "ports":
        taken = sorted({p for k in positions for p in task.fixed_ports if p in state.ports[k]})
        return f"{n} instances with host port {', '.join(f'{p}/{q}' for p, q in taken)} in use"
    if name == "dynamicPorts":
        return f"{n} instances without {task.dynamic_ports} free dynamic host ports"
    if name == "distinctInstance":
        return f"{n} instances already running a task of group {task.group or '(none)'}"
    index = int(name[len("memberOf["):-1])
    return f"{n} instances: memberOf {task.constraints[index].expression} is false"


# ---------------------------------------------------------------------------------------------
# Strategies.

def scores(state: ClusterState, k: int, task: TaskRequest,
           random_rank: Callable[[int], int]) -> list[StrategyScore]:
    """Each strategy's score of instance k (lower ranks first), in chain order."""
    result = []
    for strategy in task.chain:
        result.append(_score(state, k, task, strategy, random_rank))
    return result


def _score(state: ClusterState, k: int, task: TaskRequest, strategy: Strategy,
           random_rank: Callable[[int], int]) -> StrategyScore:
    name = str(strategy)
    if strategy.type == "binpack":
        if strategy.field == "cpu":
            return StrategyScore(name, state.cpu[k], f"{state.cpu[k]} CPU units free")
        return StrategyScore(name, state.mem[k], f"{state.mem[k]} MiB free")
    if strategy.type == "random":
        rank = random_rank(k)
        return StrategyScore(name, rank, "position in the order seeded by the task id")
    attribute = strategy.attribute
    group = task.group or "(none)"
    if attribute is None:
        here = state.groups(k).get(task.group, 0) if state.running[k] else 0
        return StrategyScore(name, here, f"{here} tasks of group {group} on this instance")
    value = state.instances[k].attributes.get(attribute)
    count = state.spread_counts(task.group, attribute).get(value, 0)
    where = f"{attribute}={value}" if value is not None else f"no {attribute}"
    return StrategyScore(name, count, f"{count} tasks of group {group} where {where}")


def _random_ranks(state: ClusterState, task: TaskRequest) -> Callable[[int], int]:
    ranks: list[int] = []

    def rank(k: int) -> int:
        if not ranks:
            ranks.extend([0] * state.n)
            for step, s in enumerate(random_order(task.task_id, state.n)):
                ranks[state.by_id[s]] = step
        return ranks[k]
    return rank


# ---------------------------------------------------------------------------------------------
# Explanations.

def explain(state: ClusterState, task: TaskRequest) -> Explanation:
    """Every instance against `task` in the current state: filters, scores and rank."""
    random_rank = _random_ranks(state, task)
    feasible_items, others = [], []
    for k in range(state.n):
        results = tuple(_filters(state, k, task, full=True))
        if all(r.passed for r in results):
            item_scores = tuple(scores(state, k, task, random_rank))
            key = tuple(s.score for s in item_scores) + (state.id_rank[k],)
            feasible_items.append((key, k, results, item_scores))
        else:
            others.append(InstanceExplanation(state.ids[k], results, False))
    if task.target_instances is not None:
        for iid in task.target_instances:
            if iid not in state.position:
                others.append(InstanceExplanation(iid, (FilterResult(
                    "target", False, "MISSING", "no such container instance"),), False))
    feasible_items.sort()
    ranked = [InstanceExplanation(state.ids[k], results, True, item_scores, rank)
              for rank, (_, k, results, item_scores) in enumerate(feasible_items, start=1)]
    chosen = ranked[0].instance_id if ranked else None
    return Explanation(task.task_id, task.group, tuple(str(s) for s in task.chain),
                       tuple(str(c) for c in task.constraints), tuple(ranked + others), chosen,
                       None if ranked else reject(state, task))
