"""Invariants of the placement engine, checked with hypothesis against a naive reference.

The reference below re-states the rules as plainly as possible (scan every instance, score
every strategy, take the minimum); the indexed engine must make exactly the same plans. The
last properties tie the engine to the filter objects themselves (`filters.FILTERS`).
"""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings, strategies as st

from controlplane.scheduler import (REASONS, ClusterSnapshot, Constraint, InstanceSnapshot,
                                    Placement, Placer, Strategy, TaskRequest, explain, schedule)
from controlplane.scheduler.filters import PLACED, STATIC, filters_for

DYNAMIC = (50000, 50003)  # four dynamic ports per instance, so they run out


# -- the reference ---------------------------------------------------------------------------------

def permutation(seed: str, n: int) -> list[int]:
    """Fisher-Yates with the task id as seed, as documented for `random`."""
    rand = random.Random(seed).random
    order = list(range(n))
    for i in range(n):
        span = n - i
        j = i + min(int(rand() * span), span - 1)
        order[i], order[j] = order[j], order[i]
    return order


class Reference:
    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self.order = [i.instance_id for i in snapshot.instances]
        self.snap = {i.instance_id: i for i in snapshot.instances}
        self.cpu = {i.instance_id: i.remaining_cpu for i in snapshot.instances}
        self.mem = {i.instance_id: i.remaining_memory for i in snapshot.instances}
        self.ports = {i.instance_id: set(i.used_ports) for i in snapshot.instances}
        self.reserved = {i.instance_id: i.reserved_dynamic_ports for i in snapshot.instances}
        self.groups = {i.instance_id: list(i.task_groups) for i in snapshot.instances}

    def dynamic_need_and_free(self, iid: str, task: TaskRequest) -> tuple[int, int]:
        low, high = self.snap[iid].dynamic_port_range
        used = {p for p, _ in self.ports[iid] if low <= p <= high}
        free = high - low + 1 - len(used) - self.reserved[iid]
        new = {p for p, _ in task.fixed_ports if low <= p <= high} - {p for p, _ in self.ports[iid]}
        return task.dynamic_ports + len(new), free

    def passes(self, iid: str, task: TaskRequest) -> bool:
        instance = self.snap[iid]
        if task.target_instances is not None and iid not in task.target_instances:
            return False
        if instance.status != "ACTIVE" or not instance.agent_connected:
            return False
        if self.cpu[iid] < task.cpu or self.mem[iid] < task.memory:
            return False
        if any(p in self.ports[iid] for p in task.fixed_ports):
            return False
        need, free = self.dynamic_need_and_free(iid, task)
        if need > free and need > 0:
            return False
        for constraint in task.constraints:
            if constraint.type == "distinctInstance":
                if task.group in self.groups[iid]:
                    return False
            elif not constraint.parsed.evaluate(instance, self.groups[iid], len(self.groups[iid])):
                return False
        return True

    def score(self, iid: str, task: TaskRequest, strategy: Strategy, ranks: dict[str, int]):
        if strategy.type == "binpack":
            return self.cpu[iid] if strategy.field == "cpu" else self.mem[iid]
        if strategy.type == "random":
            return ranks[iid]
        if strategy.attribute is None:
            return self.groups[iid].count(task.group)
        value = self.snap[iid].attributes.get(strategy.attribute)
        return sum(self.groups[other].count(task.group) for other in self.order
                   if self.snap[other].attributes.get(strategy.attribute) == value)

    def choose(self, task: TaskRequest) -> str | None:
        feasible = [iid for iid in self.order if self.passes(iid, task)]
        if not feasible:
            return None
        by_id = sorted(self.order)
        ranks = {by_id[s]: step for step, s in enumerate(permutation(task.task_id, len(by_id)))}
        return min(feasible, key=lambda iid: tuple(
            self.score(iid, task, s, ranks) for s in task.chain) + (iid,))

    def take(self, iid: str, task: TaskRequest) -> None:
        need, _ = self.dynamic_need_and_free(iid, task)
        self.cpu[iid] -= task.cpu
        self.mem[iid] -= task.memory
        self.ports[iid] |= set(task.fixed_ports)
        self.reserved[iid] += task.dynamic_ports  # fixed ports are counted through `ports`
        self.groups[iid].append(task.group)

    def give_back(self, iid: str, task: TaskRequest, need: int) -> None:
        self.cpu[iid] += task.cpu
        self.mem[iid] += task.memory
        self.ports[iid] -= set(task.fixed_ports)
        self.reserved[iid] -= task.dynamic_ports
        self.groups[iid].remove(task.group)

    def schedule(self, tasks) -> tuple[list[tuple[str, str]], list[str]]:
        placements, rejected = [], []
        for task in tasks:
            iid = self.choose(task)
            if iid is None:
                rejected.append(task.task_id)
            else:
                self.take(iid, task)
                placements.append((task.task_id, iid))
        return placements, rejected


# -- generators ------------------------------------------------------------------------------------

# Round sizes often: ties are where tie-breaks (instance id, random order) get exercised.
ROUND_CPU = st.sampled_from([0, 1024, 2048])
ROUND_MEMORY = st.sampled_from([0, 2048, 4096])
ZONE = st.sampled_from(["a", "b", "c", None])
TYPE = st.sampled_from(["t2.micro", "m5.large", None])
GROUP = st.sampled_from(["g1", "g2", "db"])
PORTS = st.sets(st.sampled_from([(80, "tcp"), (53, "udp"), (50001, "tcp"), (50001, "udp"),
                                 (50002, "udp")]),
                max_size=2)
CONSTRAINTS = [Constraint("distinctInstance")] + [Constraint("memberOf", e) for e in (
    "attribute:zone == a", "attribute:type =~ t2.*", "not(task:group == db)",
    "runningTasksCount < 2", "task:group == g1 or attribute:zone != c", "attribute:zone exists")]
STRATEGIES = [Strategy("binpack", "memory"), Strategy("binpack", "cpu"),
              Strategy("spread", "instanceId"), Strategy("spread", "attribute:zone"),
              Strategy("spread", "attribute:type"), Strategy("random")]


@st.composite
def instances(draw, min_size=0, max_size=8):
    ids = draw(st.lists(st.sampled_from([f"i-{n}" for n in range(12)]), min_size=min_size,
                        max_size=max_size, unique=True))
    result = []
    for iid in ids:
        attributes = {}
        zone, kind = draw(ZONE), draw(TYPE)
        if zone:
            attributes["zone"] = zone
        if kind:
            attributes["type"] = kind
        result.append(InstanceSnapshot(
            iid, draw(ROUND_CPU | st.integers(0, 2048)), draw(ROUND_MEMORY | st.integers(0, 4096)),
            frozenset(draw(PORTS)),
            draw(st.sampled_from(["ACTIVE"] * 5 + ["DRAINING"])), draw(st.booleans() | st.just(True)),
            attributes, task_groups=tuple(draw(st.lists(GROUP, max_size=3))),
            dynamic_port_range=DYNAMIC, reserved_dynamic_ports=draw(st.integers(0, 3))))
    return result


@st.composite
def tasks(draw, chains=None, constraints=True, max_size=10):
    count = draw(st.integers(0, max_size))
    prefix = draw(st.sampled_from(["t", "x", "task-"]))
    result = []
    for n in range(count):
        chain = draw(chains) if chains is not None else tuple(draw(
            st.lists(st.sampled_from(STRATEGIES), max_size=3)))
        result.append(TaskRequest(
            f"{prefix}{n}", draw(st.sampled_from([0, 256]) | st.integers(0, 1024)),
            draw(st.sampled_from([0, 512]) | st.integers(0, 2048)),
            tuple(sorted(draw(PORTS))), draw(GROUP),
            tuple(draw(st.lists(st.sampled_from(CONSTRAINTS), max_size=2, unique=True)))
            if constraints else (),
            chain, draw(st.integers(0, 2)),
            draw(st.none() | st.just(None) | st.lists(
                st.sampled_from([f"i-{n}" for n in range(12)]), max_size=4).map(tuple))))
    return result


# -- properties ------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(instances(), tasks())
def test_engine_makes_the_same_plan_as_the_reference(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, requests)
    expected_placements, expected_rejected = Reference(snapshot).schedule(requests)
    assert [(p.task_id, p.instance_id) for p in plan.placements] == expected_placements
    assert [r.task_id for r in plan.rejections] == expected_rejected


@settings(max_examples=200, deadline=None)
@given(instances(), tasks())
def test_never_over_commits(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, requests)
    assert len(plan.placements) + len(plan.rejections) == len(requests)
    by_id = {t.task_id: t for t in requests}
    for instance in instances:
        placed = [by_id[p.task_id] for p in plan.placements if p.instance_id == instance.instance_id]
        assert sum(t.cpu for t in placed) <= instance.remaining_cpu
        assert sum(t.memory for t in placed) <= instance.remaining_memory
        fixed = [p for t in placed for p in t.fixed_ports]
        assert len(fixed) == len(set(fixed)) and not set(fixed) & instance.used_ports
        # The dynamic range: placements never fill it beyond its size (a snapshot may
        # already be beyond it; then they add nothing to it).
        low, high = instance.dynamic_port_range
        before = len({p for p, _ in instance.used_ports if low <= p <= high}) \
            + instance.reserved_dynamic_ports
        after = len({p for p, _ in instance.used_ports | set(fixed) if low <= p <= high}) \
            + instance.reserved_dynamic_ports + sum(t.dynamic_ports for t in placed)
        assert after <= max(high - low + 1, before)


@settings(max_examples=150, deadline=None)
@given(instances(), tasks(max_size=6))
def test_every_placed_task_passes_every_filter_and_ranks_first(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    placer = Placer(snapshot)
    for task in requests:
        why = placer.explain(task)
        outcome = placer.place(task)
        if isinstance(outcome, Placement):
            chosen = why.instances[0]
            assert (chosen.instance_id, chosen.rank) == (outcome.instance_id, 1)
            assert chosen.feasible and all(f.passed for f in chosen.filters)
            assert why.chosen == outcome.instance_id
        else:
            assert why.chosen is None and not any(i.feasible for i in why.instances)
            # A rejection's reason per instance is the first filter explain shows failing.
            first_failures = {i.instance_id: next(f for f in i.filters if not f.passed)
                              for i in why.instances}
            for verdict in outcome.per_instance:
                failed = first_failures[verdict.instance_id]
                assert (verdict.reason, verdict.filter) == (failed.reason, failed.filter)
                assert verdict.detail == f"{verdict.instance_id}: {failed.detail}"


BINPACK = st.sampled_from([(Strategy("binpack", "memory"),), (Strategy("binpack", "cpu"),)])


@settings(max_examples=200, deadline=None)
@given(instances(), tasks(chains=BINPACK))
def test_binpack_never_picks_more_remaining_than_another_feasible(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    reference = Reference(snapshot)
    placer = Placer(snapshot)
    for task in requests:
        feasible = [iid for iid in reference.order if reference.passes(iid, task)]
        outcome = placer.place(task)
        if not feasible:
            assert not isinstance(outcome, Placement)
            continue
        remaining = reference.mem if task.chain[0].field == "memory" else reference.cpu
        assert remaining[outcome.instance_id] == min(remaining[iid] for iid in feasible)
        reference.take(outcome.instance_id, task)


SPREAD = st.sampled_from([(Strategy("spread", "attribute:zone"),),
                          (Strategy("spread", "attribute:zone"), Strategy("binpack", "memory")),
                          (Strategy("spread", "instanceId"),),
    (Strategy("binpack", "memory"), Strategy("spread", "attribute:zone")),
    (Strategy("binpack", "memory"), Strategy("spread", "attribute:zone"), Strategy("random")),
    (Strategy("spread", "instanceId"), Strategy("spread", "attribute:zone"))])


@settings(max_examples=200, deadline=None)
@given(instances(min_size=1), tasks(chains=SPREAD))
def test_spread_never_increases_imbalance_when_a_balanced_choice_exists(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    reference = Reference(snapshot)
    placer = Placer(snapshot)
    for task in requests:
        strategy = task.chain[0]
        feasible = [iid for iid in reference.order if reference.passes(iid, task)]
        outcome = placer.place(task)
        if not feasible:
            continue
        counts = {iid: reference.score(iid, task, strategy, {}) for iid in feasible}
        # The chosen value holds the fewest tasks of the group among the values it could use,
        # so the spread across values never grows when an emptier choice was feasible.
        assert counts[outcome.instance_id] == min(counts.values())
        reference.take(outcome.instance_id, task)


@settings(max_examples=100, deadline=None)
@given(instances(), tasks(), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_snapshot_order(instances, requests, rng):
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, requests)
    assert plan == schedule(snapshot, requests)
    shuffled = list(instances)
    rng.shuffle(shuffled)
    other = schedule(ClusterSnapshot(tuple(shuffled)), requests)
    assert other.placements == plan.placements
    assert [r.task_id for r in other.rejections] == [r.task_id for r in plan.rejections]


@settings(max_examples=100, deadline=None)
@given(instances(), tasks(max_size=6))
def test_explain_with_batch_before_matches_the_batch(instances, requests):
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, requests)
    where = {p.task_id: p.instance_id for p in plan.placements}
    for n, task in enumerate(requests):
        assert explain(snapshot, task, batch_before=requests[:n]).chosen == where.get(task.task_id)


@settings(max_examples=100, deadline=None)
@given(instances(min_size=1, max_size=12), tasks(max_size=30),
       st.sets(st.integers(0, 29), max_size=20))
def test_engine_matches_the_reference_with_departures(instances, requests, departing):
    """Long batches with tasks leaving (what the simulator does): same choice at every step."""
    snapshot = ClusterSnapshot(tuple(instances))
    reference = Reference(snapshot)
    placer = Placer(snapshot)
    held: dict[str, tuple[str, TaskRequest, int]] = {}
    for n, task in enumerate(requests):
        expected = reference.choose(task)
        outcome = placer.place(task)
        assert (outcome.instance_id if isinstance(outcome, Placement) else None) == expected
        if expected is not None:
            need, _ = reference.dynamic_need_and_free(expected, task)
            reference.take(expected, task)
            held[task.task_id] = (expected, task, need)
        if n in departing and n >= 2 and requests[n - 2].task_id in held:
            iid, gone, need = held.pop(requests[n - 2].task_id)
            assert placer.release(gone.task_id)
            reference.give_back(iid, gone, need)


SHARED_INDEX_CHAINS = st.sampled_from([
    (), (Strategy("binpack", "memory"),), (Strategy("binpack", "memory"), Strategy("random")),
    (Strategy("spread", "attribute:zone"),), (Strategy("spread", "attribute:zone"), Strategy("random")),
    (Strategy("random"),), (Strategy("spread", "instanceId"), Strategy("random")),
    (Strategy("spread", "instanceId"),),
    (Strategy("binpack", "memory"), Strategy("spread", "attribute:zone")),
    (Strategy("binpack", "memory"), Strategy("spread", "attribute:zone"), Strategy("random")),
    (Strategy("spread", "instanceId"), Strategy("spread", "attribute:zone"))])


@st.composite
def tied_instances(draw):
    ids = draw(st.lists(st.sampled_from([f"i-{n}" for n in range(10)]), min_size=1, max_size=10,
                        unique=True))
    return [InstanceSnapshot(iid, draw(ROUND_CPU), draw(ROUND_MEMORY),
                             attributes={"zone": draw(st.sampled_from("ab"))},
                             task_groups=tuple(draw(st.lists(GROUP, max_size=2))))
            for iid in ids]


@settings(max_examples=200, deadline=None)
@given(tied_instances(), tasks(chains=SHARED_INDEX_CHAINS, constraints=False, max_size=12))
def test_chains_sharing_an_index_with_many_ties(instances, requests):
    """Chains that differ only in their tail (what follows the indexed scores: a spread on an
    attribute after a per-instance term, or random) share an index in the engine."""
    snapshot = ClusterSnapshot(tuple(instances))
    plan = schedule(snapshot, requests)
    expected_placements, _ = Reference(snapshot).schedule(requests)
    assert [(p.task_id, p.instance_id) for p in plan.placements] == expected_placements


# -- the filter table and the engine's use of it ---------------------------------------------------
#
# The engine evaluates each filter at the stage it declares (STATIC once per index, PLACED on
# every touch, FIT per candidate) and through its hooks (`passing`, `relevant`, `only_with`,
# `minimum`). These properties hold every filter of the table to those declarations, so a
# filter added to the table is checked without a new test.

def _placed_state(instances, requests):
    """A Placer after placing `requests`, and the tasks still to try against it."""
    placer = Placer(ClusterSnapshot(tuple(instances)))
    for task in requests[: len(requests) // 2]:
        placer.place(task)
    return placer, requests[len(requests) // 2:]


def _other_size(task: TaskRequest) -> TaskRequest:
    """The same shape (constraints, targets, group), another size and other ports."""
    return replace(task, cpu=task.cpu + 700, memory=max(0, task.memory - 300),
                   fixed_ports=() if task.fixed_ports else ((80, "tcp"),),
                   dynamic_ports=2 - task.dynamic_ports)


@settings(max_examples=300, deadline=None)
@given(instances(), tasks(max_size=8))
def test_every_filter_decides_as_it_explains_and_keeps_its_declarations(instances, requests):
    placer, pending = _placed_state(instances, requests)
    state = placer.state
    fresh = Placer(ClusterSnapshot(tuple(instances))).state
    for task in pending:
        for filter_ in filters_for(task):
            assert filter_.reasons and set(filter_.reasons) <= set(REASONS) | {"TARGET"}
            passing = filter_.passing(state, task)
            for k in range(state.n):
                passes = filter_.passes(state, k, task)
                result = filter_.result(state, k, task)
                # The words and the decision agree; nothing shown means nothing rejected.
                assert passes == (result is None or result.passed), (filter_, k)
                if result is not None:
                    assert result.filter == filter_.name
                    assert (result.reason in filter_.reasons) != passes
                if passing is not None:
                    assert passing[k] == passes
                if not filter_.relevant(task):
                    assert passes
                if filter_.only_with and not any(getattr(task, f) for f in filter_.only_with):
                    assert passes and not filter_.relevant(task)
                if filter_.minimum is not None:
                    array, field = filter_.minimum
                    assert passes == (getattr(state, array)[k] >= getattr(task, field))
                if filter_.stage in (STATIC, PLACED):
                    # Only the task's shape counts (the engine shares an index per shape).
                    assert filter_.passes(state, k, _other_size(task)) == passes
                    if not filter_.uses_group:
                        assert filter_.passes(state, k, replace(task, group="other")) == passes
                if filter_.stage == STATIC:
                    # What the batch placed does not count (checked once per index).
                    assert filter_.passes(fresh, k, task) == passes


@settings(max_examples=300, deadline=None)
@given(instances(), tasks(max_size=8))
def test_engine_admits_exactly_the_instances_every_filter_passes(instances, requests):
    """The engine's indexes against the filter objects, instance by instance: narrowed to one
    instance (as StartTask does), a task goes there exactly when it passes every filter."""
    placer, pending = _placed_state(instances, requests)
    state = placer.state
    for task in pending:
        for k in range(state.n):
            iid = state.ids[k]
            if task.target_instances is not None and iid not in task.target_instances:
                continue
            alone = replace(task, target_instances=(iid,))
            passes = all(f.passes(state, k, alone) for f in filters_for(alone))
            assert (placer.choose(alone) == k) == passes, (iid, task)
        placer.place(task)
