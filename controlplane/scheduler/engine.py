"""`Placer`: the fast placement engine. It makes the decisions the full pipeline ranks first
(`pipeline.explain`), without scoring every instance.

For each task *shape* (strategy chain, constraints, and the group when the order depends on
it) the placer keeps an index of the instances that pass the binding filters that do not
depend on the task's size (ready, StartTask targets, memberOf, distinctInstance):

    buckets: value of the leading spread:attribute strategies -> sorted list of keys
    key:     (scores of the remaining per-instance strategies..., id rank, position)

A decision orders the buckets by their spread counts (a handful of zones), then walks each
bucket's list from the first key that can fit (`bisect` on the first binpack term) to the
first instance whose CPU, memory and ports fit. Placing a task changes one instance; the
change goes to the state's `touched` log and each index replays the log the next time it is
used, moving only the touched instances (re-evaluating memberOf only if it is dynamic).

Strategies the sort key cannot hold — a spread on an attribute after a per-instance term
(``binpack:memory, spread:attribute:zone``), or `random` — form the chain's tail: they only
order the instances tied on every indexed score, one strategy after another. `random` orders
strictly, so nothing after it counts (explain still shows those scores); its permutation,
seeded by the task id, is generated lazily.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import groupby
from typing import Sequence

from controlplane.scheduler import pipeline
from controlplane.scheduler.expression import Strategy
from controlplane.scheduler.model import (ClusterSnapshot, Explanation, Placement, Rejection,
                                          TaskRequest)
from controlplane.scheduler.state import ClusterState, random_order

__all__ = ["Placer"]

_TERMS = {("binpack", "memory"): "mem", ("binpack", "cpu"): "cpu", ("spread", "instanceId"): "inst"}


class _Chain:
    """How an index orders instances for one strategy chain.

    ``prefix``: the leading spread:attribute strategies (buckets); ``suffix``: the following
    per-instance terms (sort key); ``tail``: the rest, from the first strategy the key cannot
    hold (a spread:attribute after a per-instance term, or random), applied only to the
    instances tied on everything before it. Nothing after a random counts: it orders strictly.
    """

    __slots__ = ("prefix", "suffix", "tail")

    def __init__(self, chain: Sequence[Strategy]) -> None:
        items = list(chain)
        at = 0
        prefix: list[str] = []
        while at < len(items) and (attribute := items[at].attribute) is not None:
            prefix.append(attribute)
            at += 1
        suffix: list[str] = []
        while at < len(items) and items[at].type != "random" and items[at].attribute is None:
            suffix.append(_TERMS[(items[at].type, items[at].field)])
            at += 1
        tail = []
        for strategy in items[at:]:
            tail.append(strategy)
            if strategy.type == "random":
                break
        self.prefix, self.suffix, self.tail = tuple(prefix), tuple(suffix), tuple(tail)


class _Index:
    """Eligible instances of one task shape, bucketed and sorted (see module docstring)."""

    def __init__(self, state: ClusterState, task: TaskRequest, chain: _Chain) -> None:
        # Shared by every chain with the same prefix and suffix: the tail, which breaks ties
        # on those, is the caller's chain's business (`select`), not the index's.
        self.state = state
        self.prefix = chain.prefix
        self.group = task.group
        self.suffix = chain.suffix
        self.first = chain.suffix[0] if chain.suffix else None
        targets = task.target_instances
        self.targets = None if targets is None else frozenset(targets)
        self.distinct = any(c.type == "distinctInstance" for c in task.constraints)
        member_of = [c.parsed for c in task.constraints if c.type == "memberOf" and c.parsed]
        self.static_exprs = [e.root for e in member_of if not e.dynamic]
        self.dynamic_exprs = [e.root for e in member_of if e.dynamic]
        # Filters whose verdict can change as the batch places tasks (checked on each touch).
        self.dynamic_filter = bool(self.distinct or self.dynamic_exprs)
        n = state.n
        self.key_of: list[tuple | None] = [None] * n
        self.bucket_of: list[tuple] = [()] * n
        self.static_ok = [False] * n
        self.buckets: dict[tuple, list[tuple]] = {}
        self.synced = len(state.touched)
        prefix = self.prefix
        for k in range(n):
            instance = state.instances[k]
            if not state.ready[k] or (self.targets is not None
                                      and instance.instance_id not in self.targets):
                continue
            if self.static_exprs:
                groups = state.groups(k) if state.running[k] else ()
                if not all(e.holds(instance, groups, state.running[k]) for e in self.static_exprs):
                    continue
            self.static_ok[k] = True
            bucket = tuple(instance.attributes.get(a) for a in prefix)
            self.bucket_of[k] = bucket
            entries = self.buckets.setdefault(bucket, [])
            key = self._key(k)
            self.key_of[k] = key
            if key is not None:
                entries.append(key)
        for entries in self.buckets.values():
            entries.sort()

    def _key(self, k: int) -> tuple | None:
        """k's sort key, or None when a dynamic constraint excludes it now."""
        state = self.state
        if self.dynamic_filter:
            running = state.running[k]
            groups = state.groups(k) if running else None
            if self.distinct and groups and groups.get(self.group, 0):
                return None
            if self.dynamic_exprs:
                instance = state.instances[k]
                seen = groups if groups is not None else ()
                for expr in self.dynamic_exprs:
                    if not expr.holds(instance, seen, running):
                        return None
        key = []
        for term in self.suffix:
            if term == "mem":
                key.append(state.mem[k])
            elif term == "cpu":
                key.append(state.cpu[k])
            else:
                groups = state.groups(k) if state.running[k] else None
                key.append(groups.get(self.group, 0) if groups else 0)
        key.append(state.id_rank[k])
        key.append(k)
        return tuple(key)

    def sync(self) -> None:
        """Replay the instances touched since the last decision."""
        touched = self.state.touched
        if self.synced == len(touched):
            return
        key_of, static_ok = self.key_of, self.static_ok
        for k in set(touched[self.synced:]):
            if not static_ok[k]:
                continue
            new = self._key(k)
            old = key_of[k]
            if new == old:
                continue
            entries = self.buckets[self.bucket_of[k]]
            if old is not None:
                del entries[bisect_left(entries, old)]
            if new is not None:
                insort(entries, new)
            key_of[k] = new
        self.synced = len(touched)

    # -- decisions ------------------------------------------------------------------------------

    def select(self, task: TaskRequest, tail: tuple[Strategy, ...]) -> int | None:
        """The instance `task` goes to; `tail` breaks ties on the indexed scores."""
        self.sync()
        prefix = self.prefix
        buckets = [b for b, entries in self.buckets.items() if entries]
        if not prefix:
            return self._best(buckets, task, tail)
        state = self.state
        counts = [state.spread_counts(task.group, a) for a in prefix]

        def spread_key(bucket: tuple) -> tuple:
            return tuple(c.get(v, 0) for c, v in zip(counts, bucket))

        buckets.sort(key=spread_key)
        for _, tied in groupby(buckets, key=spread_key):
            found = self._best(list(tied), task, tail)
            if found is not None:
                return found
        return None

    def _best(self, buckets: Sequence[tuple], task: TaskRequest,
              tail: tuple[Strategy, ...]) -> int | None:
        """The best instance of these buckets (tied on the spread prefix) that fits."""
        if not buckets:
            return None
        state = self.state
        if tail and tail[0].type == "random" and not self.suffix:
            # Every instance that fits ties: the first of the seeded order that fits wins.
            members = set(buckets)
            key_of, bucket_of = self.key_of, self.bucket_of
            return self._random(task, lambda k: key_of[k] is not None
                                and bucket_of[k] in members and state.fits(k, task))
        cpu, mem = state.cpu, state.mem
        need_cpu, need_mem = task.cpu, task.memory
        simple = not task.fixed_ports and not task.dynamic_ports
        low = (need_mem,) if self.first == "mem" else (need_cpu,) if self.first == "cpu" else None
        best = None
        for bucket in buckets:
            entries = self.buckets[bucket]
            start = bisect_left(entries, low) if low is not None else 0
            for pos in range(start, len(entries)):
                key = entries[pos]
                k = key[-1]
                if cpu[k] >= need_cpu and mem[k] >= need_mem and (simple or state.fits(k, task)):
                    if best is None or key < best:
                        best = key
                    break
        if best is None:
            return None
        if not tail:
            return best[-1]
        # The tail breaks the tie among the instances equal on every indexed score.
        scores = best[:-2]
        tied = []
        for bucket in buckets:
            entries = self.buckets[bucket]
            for pos in range(bisect_left(entries, scores), len(entries)):
                key = entries[pos]
                if key[:-2] != scores:
                    break
                if state.fits(key[-1], task):
                    tied.append(key[-1])
        return self._narrow(tied, task, tail)

    def _narrow(self, candidates: list[int], task: TaskRequest,
                tail: tuple[Strategy, ...]) -> int:
        """Apply the tail strategies in order to tied candidates, then the instance id."""
        state = self.state
        for strategy in tail:
            if len(candidates) == 1:
                return candidates[0]
            if strategy.type == "random":
                members = set(candidates)
                picked = self._random(task, members.__contains__)
                assert picked is not None  # the random order visits every instance
                return picked
            if strategy.type == "binpack":
                values = state.cpu if strategy.field == "cpu" else state.mem
                scored = [(values[k], k) for k in candidates]
            elif strategy.attribute is None:
                scored = [(state.groups(k).get(task.group, 0) if state.running[k] else 0, k)
                          for k in candidates]
            else:
                counts = state.spread_counts(task.group, strategy.attribute)
                scored = [(counts.get(state.instances[k].attributes.get(strategy.attribute), 0), k)
                          for k in candidates]
            least = min(score for score, _ in scored)
            candidates = [k for score, k in scored if score == least]
        return min(candidates, key=state.id_rank.__getitem__)

    def _random(self, task: TaskRequest, accept) -> int | None:
        by_id = self.state.by_id
        for s in random_order(task.task_id, self.state.n):
            k = by_id[s]
            if accept(k):
                return k
        return None


class Placer:
    """Places tasks one after another on one snapshot; each placement is seen by the next.

        placer = Placer(snapshot)
        placer.place(TaskRequest("t1", 256, 512))   # Placement or Rejection
        placer.release("t1")                       # a departure (the simulator uses it)
        placer.explain(TaskRequest("t2", 256, 512)) # every instance, without placing

    Pure and deterministic: the same snapshot and the same sequence of calls give the same
    results. `explain_rejections=False` skips the per-instance reasons of a Rejection (its
    reason and detail stay empty) for callers that only count, like the simulator.
    """

    def __init__(self, snapshot: ClusterSnapshot, *, explain_rejections: bool = True) -> None:
        self.state = ClusterState(snapshot)
        self.explain_rejections = explain_rejections
        self._chains: dict[tuple, _Chain] = {}
        self._indexes: dict[tuple, _Index] = {}

    def place(self, task: TaskRequest) -> Placement | Rejection:
        k = self.choose(task)
        if k is None:
            if not self.explain_rejections:
                return Rejection(task.task_id, "", "")
            return pipeline.reject(self.state, task)
        self.state.apply(k, task)
        return Placement(task.task_id, self.state.ids[k])

    def choose(self, task: TaskRequest) -> int | None:
        """The position of the instance `task` would go to now, without placing it."""
        chain_key = task.chain
        chain = self._chains.get(chain_key)
        if chain is None:
            chain = self._chains[chain_key] = _Chain(chain_key)
        shape = (chain.prefix, chain.suffix, task.constraints, task.target_instances,
                 task.group if ("inst" in chain.suffix or any(
                     c.type == "distinctInstance" for c in task.constraints)) else None)
        index = self._indexes.get(shape)
        if index is None:
            index = self._indexes[shape] = _Index(self.state, task, chain)
        return index.select(task, chain.tail)

    def release(self, task_id: str) -> bool:
        """Give back the resources of a task this placer placed; False if it placed none."""
        return self.state.release(task_id)

    def explain(self, task: TaskRequest) -> Explanation:
        """Every instance against `task` in the current state (nothing is placed)."""
        return pipeline.explain(self.state, task)
