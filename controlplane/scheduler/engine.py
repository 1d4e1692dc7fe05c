"""`Placer`: the fast placement engine. It makes the decisions the full pipeline ranks first
(`pipeline.explain`), without scoring every instance.

For each task *shape* (strategy chain, constraints, StartTask targets, and the group when
the order or a filter depends on it) the placer keeps an index of the instances that pass
the filters (`filters.filters_for`) that do not depend on the task's size: the STATIC ones
(status, agent, targets, a memberOf on attributes) once, when the index is built, and the
PLACED ones (distinctInstance, a memberOf on task groups or counts) again whenever an
instance is touched. The FIT filters (cpu, memory, ports, dynamic ports) are checked per
candidate; those that offer a `minimum` are one comparison, and the one matching the key's
first binpack term bounds the walk:

    buckets: value of the leading spread:attribute strategies -> sorted list of keys
    key:     (scores of the remaining per-instance strategies..., id rank, position)

A decision orders the buckets by their spread counts (a handful of zones), then walks each
bucket's list from the first key that can fit (`bisect` on the first binpack term) to the
first instance that passes every FIT filter. Placing a task changes one instance; the
change goes to the state's `touched` log and each index replays the log the next time it is
used, moving only the touched instances (re-evaluating only the PLACED filters).

Strategies the sort key cannot hold — a spread on an attribute after a per-instance term
(``binpack:memory, spread:attribute:zone``), or `random` — form the chain's tail: they only
order the instances tied on every indexed score, one strategy after another. `random` orders
strictly, so nothing after it counts (explain still shows those scores); its permutation,
seeded by the task id, is generated lazily.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import groupby
from operator import attrgetter
from typing import Sequence

from controlplane.scheduler import pipeline
from controlplane.scheduler.expression import Constraint, Strategy
from controlplane.scheduler.filters import FIT, PLACED, STATIC, Filter, filters_for
from controlplane.scheduler.model import (ClusterSnapshot, Explanation, Placement, Rejection,
                                          TaskRequest)
from controlplane.scheduler.state import ClusterState, random_order

__all__ = ["Placer"]

# Per-instance sort terms; a binpack term is named by the ClusterState array it orders by,
# which is how a FIT filter's `minimum` on the same array bounds the walk.
_TERMS = {("binpack", "memory"): "mem", ("binpack", "cpu"): "cpu", ("spread", "instanceId"): "inst"}


class _Stages:
    """The filters of one list of constraints, split by when the engine evaluates them.

    FIT filters are evaluated per candidate instance, so per task they are prepared in
    bulk: `fit_fields` reads, in one call, the fields of every `minimum` (the needs, in
    `limits` order) followed by the fields the `only_with` filters look at; when all of
    those are empty (a task without ports) only the filters in `always` remain.
    """

    __slots__ = ("static", "placed", "limits", "fit_fields", "checked", "always", "uses_group",
                 "_flags_at")

    def __init__(self, constraints: tuple[Constraint, ...]) -> None:
        filters = filters_for(TaskRequest("", 0, 0, constraints=constraints))
        self.static = tuple(f for f in filters if f.stage == STATIC)
        self.placed = tuple(f for f in filters if f.stage == PLACED)
        fit = [f for f in filters if f.stage == FIT]
        assert len(self.static) + len(self.placed) + len(fit) == len(filters), filters
        minimums = [f.minimum for f in fit if f.minimum is not None]
        self.limits = tuple(array for array, _ in minimums)
        self.checked = tuple(f for f in fit if f.minimum is None)
        self.always = tuple(f for f in self.checked if not f.only_with)
        flags = sorted({name for f in self.checked for name in f.only_with})
        fields = [field for _, field in minimums] + flags
        self._flags_at = len(minimums)
        # attrgetter gives a tuple only for two names or more.
        self.fit_fields = (attrgetter(*fields) if len(fields) > 1
                           else (lambda task, get=attrgetter(*fields): (get(task),)) if fields
                           else (lambda task: ()))
        # An index is built for one group when a filter it holds reads the task's group.
        self.uses_group = any(f.uses_group for f in self.static + self.placed)

    def fit(self, task: TaskRequest) -> tuple[tuple, Sequence[Filter]]:
        """`task`'s needs for the `limits` (the first items of the tuple, in order), and the
        other FIT filters relevant to it."""
        values = self.fit_fields(task)
        if any(values[self._flags_at:]):
            return values, [f for f in self.checked if f.relevant(task)]
        return values, self.always


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

    def __init__(self, state: ClusterState, task: TaskRequest, chain: _Chain,
                 stages: _Stages) -> None:
        # Shared by every chain with the same prefix and suffix: the tail, which breaks ties
        # on those, is the caller's chain's business (`select`), not the index's. Shared by
        # every task of the same shape too: `task` stands for them all, which holds because
        # STATIC and PLACED filters read only the shape's fields of a task.
        self.state = state
        self.task = task
        self.prefix = chain.prefix
        self.group = task.group
        self.suffix = chain.suffix
        self.first = chain.suffix[0] if chain.suffix else None
        self.stages = stages
        self.placed = stages.placed
        self.limit_values = tuple(getattr(state, array) for array in stages.limits)
        # The minimum on the array the first sort term orders by, if any: `bisect` to it.
        self.low_at = stages.limits.index(self.first) if self.first in stages.limits else None
        n = state.n
        self.key_of: list[tuple | None] = [None] * n
        self.bucket_of: list[tuple] = [()] * n
        self.static_ok = [False] * n
        self.buckets: dict[tuple, list[tuple]] = {}
        self.synced = len(state.touched)
        prefix = self.prefix
        static, masks = [], []
        for filter_ in stages.static:
            if filter_.relevant(task):
                mask = filter_.passing(state, task)
                if mask is None:
                    static.append(filter_)
                else:
                    masks.append(mask)
        eligible = list(map(all, zip(*masks))) if masks else [True] * n
        for k in range(n):
            if not eligible[k]:
                continue
            passed = True
            for filter_ in static:
                if not filter_.passes(state, k, task):
                    passed = False
                    break
            if not passed:
                continue
            self.static_ok[k] = True
            bucket = tuple(state.instances[k].attributes.get(a) for a in prefix)
            self.bucket_of[k] = bucket
            entries = self.buckets.setdefault(bucket, [])
            key = self._key(k)
            self.key_of[k] = key
            if key is not None:
                entries.append(key)
        for entries in self.buckets.values():
            entries.sort()

    def _key(self, k: int) -> tuple | None:
        """k's sort key, or None when a PLACED filter excludes it now."""
        state = self.state
        if self.placed:
            task = self.task
            for filter_ in self.placed:
                if not filter_.passes(state, k, task):
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
        fit = self.stages.fit(task)
        if not prefix:
            return self._best(buckets, task, tail, fit)
        state = self.state
        counts = [state.spread_counts(task.group, a) for a in prefix]

        def spread_key(bucket: tuple) -> tuple:
            return tuple(c.get(v, 0) for c, v in zip(counts, bucket))

        buckets.sort(key=spread_key)
        for _, tied in groupby(buckets, key=spread_key):
            found = self._best(list(tied), task, tail, fit)
            if found is not None:
                return found
        return None

    def _best(self, buckets: Sequence[tuple], task: TaskRequest,
              tail: tuple[Strategy, ...], fit: tuple[tuple, Sequence[Filter]]) -> int | None:
        """The best instance of these buckets (tied on the spread prefix) that fits."""
        if not buckets:
            return None
        if tail and tail[0].type == "random" and not self.suffix:
            # Every instance that fits ties: the first of the seeded order that fits wins.
            members = set(buckets)
            key_of, bucket_of = self.key_of, self.bucket_of
            return self._random(task, lambda k: key_of[k] is not None
                                and bucket_of[k] in members and self._fits(k, task, fit))
        needs, others = fit
        low = (needs[self.low_at],) if self.low_at is not None else None
        best = None
        if len(self.limit_values) == 2:
            # The engine's inner loop, the walk past instances that are full: the two
            # minimums every task has (cpu, memory) are compared here, not through a call.
            first, second = self.limit_values
            first_need, second_need = needs[0], needs[1]
            for bucket in buckets:
                entries = self.buckets[bucket]
                for pos in range(bisect_left(entries, low) if low is not None else 0,
                                 len(entries)):
                    key = entries[pos]
                    k = key[-1]
                    if first[k] >= first_need and second[k] >= second_need and (
                            not others or self._fits(k, task, fit)):
                        if best is None or key < best:
                            best = key
                        break
        else:
            for bucket in buckets:
                entries = self.buckets[bucket]
                for pos in range(bisect_left(entries, low) if low is not None else 0,
                                 len(entries)):
                    key = entries[pos]
                    if self._fits(key[-1], task, fit):
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
                if self._fits(key[-1], task, fit):
                    tied.append(key[-1])
        return self._narrow(tied, task, tail)

    def _fits(self, k: int, task: TaskRequest, fit: tuple[tuple, Sequence[Filter]]) -> bool:
        """Instance k passes every FIT filter (`fit` from `_Stages.fit`)."""
        needs, others = fit
        for values, need in zip(self.limit_values, needs):
            if values[k] < need:
                return False
        state = self.state
        for filter_ in others:
            if not filter_.passes(state, k, task):
                return False
        return True

    def _narrow(self, candidates: list[int], task: TaskRequest,
                tail: tuple[Strategy, ...]) -> int:
        """Apply the tail strategies in order to tied candidates, then the instance id."""
        state = self.state
        for strategy in tail:
            if len(candidates) == 1:
                return candidates[0]
            if strategy.type == "random":
                members = set(candidates)
                chosen = self._random(task, members.__contains__)
                assert chosen is not None  # every candidate is an instance of the snapshot
                return chosen
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
        # (strategies, constraints, targets) -> (chain, stages, that shape's indexes by group
        # or None); chains with the same prefix and suffix share the indexes.
        self._shapes: dict[tuple, tuple[_Chain, _Stages, dict[str | None, _Index], bool]] = {}
        self._indexes: dict[tuple, dict[str | None, _Index]] = {}

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
        key = (task.chain, task.constraints, task.target_instances)
        entry = self._shapes.get(key)
        if entry is None:
            chain, stages = _Chain(task.chain), _Stages(task.constraints)
            indexes = self._indexes.setdefault(
                (chain.prefix, chain.suffix, task.constraints, task.target_instances), {})
            entry = self._shapes[key] = (chain, stages, indexes,
                                         stages.uses_group or "inst" in chain.suffix)
        chain, stages, indexes, by_group = entry
        group = task.group if by_group else None
        index = indexes.get(group)
        if index is None:
            index = indexes[group] = _Index(self.state, task, chain, stages)
        return index.select(task, chain.tail)

    def release(self, task_id: str) -> bool:
        """Give back the resources of a task this placer placed; False if it placed none."""
        return self.state.release(task_id)

    def explain(self, task: TaskRequest) -> Explanation:
        """Every instance against `task` in the current state (nothing is placed)."""
        return pipeline.explain(self.state, task)
