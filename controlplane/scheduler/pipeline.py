"""The placement pipeline evaluated in full, instance by instance, with words for each step.

This is what `explain` shows and what a `Rejection` carries. The fast engine (`engine`)
reaches the same decisions through indexes and only comes here when a task fits nowhere or
`explain` is asked.

Filters: `filters.filters_for(task)`, in order (an instance must pass them all; the first
failure is its verdict):

    target · status · agent · cpu · memory · ports · dynamicPorts · constraints in the
    task's order (distinctInstance, memberOf[i])

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

from controlplane.scheduler.expression import Strategy
from controlplane.scheduler.filters import REASONS, filters_for, summary_rank
from controlplane.scheduler.model import (Explanation, FilterResult, InstanceExplanation,
                                          InstanceVerdict, Rejection, StrategyScore, TaskRequest)
from controlplane.scheduler.state import ClusterState, random_order

__all__ = ["REASONS", "explain", "reject", "scores", "verdict"]


# ---------------------------------------------------------------------------------------------
# Filters.

def _filters(state: ClusterState, k: int, task: TaskRequest) -> list[FilterResult]:
    """Every filter's result for instance k, failed or not (those with something to show)."""
    results = []
    for filter_ in filters_for(task):
        result = filter_.result(state, k, task)
        if result is not None:
            results.append(result)
    return results


def verdict(state: ClusterState, k: int, task: TaskRequest) -> InstanceVerdict | None:
    """Instance k's first failed filter for `task`, or None when it can take the task.

    The same order and words as the explanation's filters, built only for the failure.
    """
    for filter_ in filters_for(task):
        if not filter_.passes(state, k, task):
            failed = filter_.result(state, k, task)
            assert failed is not None and not failed.passed, filter_
            iid = state.ids[k]
            return InstanceVerdict(iid, failed.reason, f"{iid}: {failed.detail}", failed.filter)
    return None


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
    """One line per instance, except that many alike become one counted line (the filter's
    `summary`): "i-3: insufficient memory (need 512, free 256); 2 instances not ACTIVE"."""
    by_filter: dict[str, list[InstanceVerdict]] = {}
    for item in verdicts:
        by_filter.setdefault(item.filter, []).append(item)
    named = {f.name: f for f in filters_for(task)}
    counted = [named[name] for name, items in by_filter.items()
               if len(items) > named[name].list_at_most]
    parts = [v.detail for v in verdicts if v.filter not in {f.name for f in counted}]
    for filter_ in sorted(counted, key=summary_rank):
        items = by_filter[filter_.name]
        positions = [state.position[v.instance_id] for v in items
                     if v.instance_id in state.position]
        parts.append(filter_.summary(state, task, len(items), positions))
    return "; ".join(parts)


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
        results = tuple(_filters(state, k, task))
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
