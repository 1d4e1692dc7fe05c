"""Task placement: pure business logic, no I/O and no clock (design invariant 4).

    snapshot = ClusterSnapshot((InstanceSnapshot("i-1", 2048, 4096, attributes={
        "ecs.availability-zone": "us-east-1a", "ecs.os-type": "linux"}),))
    linux = parse_constraint("memberOf", "attribute:ecs.os-type == linux")
    task = TaskRequest("t1", cpu=256, memory=512, group="family:web", constraints=(linux,),
                       strategies=(parse_strategy("spread", "attribute:ecs.availability-zone"),
                                   parse_strategy("binpack", "memory")))
    plan = schedule(snapshot, [task])
    plan.placements  # (Placement(task_id="t1", instance_id="i-1"),)
    plan.rejections  # one per task that fits nowhere: reason code, words, per-instance verdicts
    explain(snapshot, task).render()   # `skiff task why`: every filter, score and rank

Flow for each task of a batch, in order (`Placer.place`):

    snapshot ─► ClusterState (remaining cpu/memory, ports, task groups; updated per placement)
                     │
    task ──► filters (binding) ───────────────────────► feasible ──► strategies (best effort)
             filters.FILTERS in order, then one per     │      chain of up to 5, ranked
             constraint: target ─ status ─ agent ─      │      lexicographically, then
             cpu ─ memory ─ ports ─ dynamicPorts ─      │      by instance id:
             distinctInstance ─ memberOf[i]             │      binpack cpu|memory,
                     │                                  │      spread instanceId|attribute,
                     │ none feasible                    │      random (seeded by task id)
                     ▼                                  ▼
         Rejection(reason, per-instance verdicts)       Placement ─► state updated, next task

Each filter is one object (`filters`) that decides (`passes`), explains (`result`: its ECS
reason code and words, e.g. RESOURCE:MEMORY, RESOURCE:PORTS, ATTRIBUTE, AGENT) and counts
(`summary`), and declares when the engine evaluates it (`stage`) and how it can be indexed
(`minimum`, `only_with`, `passing`). The engine (`engine.Placer`) reaches the pipeline's
decisions through per-shape indexes (sorted keys, spread buckets, a log of touched instances)
built from those declarations instead of scanning every instance; `pipeline` walks the same
filter objects and strategies one instance at a time with words, for rejections, `explain`
and chains the engine has no index for. `sim` runs the engine against a synthetic or
recorded cluster and workload. Defaults and reason codes: `DEFAULT_STRATEGIES` (binpack
memory, then cpu), `REASONS`.

Adding a filter touches one place: its class in `filters` and its entry in `filters.FILTERS`
(or, for a new constraint type, `filters.CONSTRAINT_FILTERS`). The engine, explanations and
rejections pick it up; the properties in tests/unit/test_scheduler_properties.py check it
against its own declarations and the engine against it.
"""

from controlplane.scheduler.core import (DEFAULT_DYNAMIC_PORT_RANGE, DEFAULT_STRATEGIES, REASONS,
                                         ClusterSnapshot, Explanation, FilterResult,
                                         InstanceExplanation, InstanceSnapshot, InstanceVerdict,
                                         Placement, Placer, Plan, Rejection, StrategyScore,
                                         TaskRequest, explain, release_task, schedule)
from controlplane.scheduler.errors import ExpressionError, PlacementError
from controlplane.scheduler.expression import (MAX_CONSTRAINTS, MAX_STRATEGIES, Constraint,
                                               Expression, Strategy, constraint_from_text,
                                               parse_constraint, parse_constraints,
                                               parse_expression, parse_strategies, parse_strategy,
                                               strategy_from_text)

__all__ = [
    "ClusterSnapshot", "Constraint", "DEFAULT_DYNAMIC_PORT_RANGE", "DEFAULT_STRATEGIES",
    "Explanation", "Expression", "ExpressionError", "FilterResult", "InstanceExplanation",
    "InstanceSnapshot", "InstanceVerdict", "MAX_CONSTRAINTS", "MAX_STRATEGIES", "Placement",
    "PlacementError", "Placer", "Plan", "REASONS", "Rejection", "Strategy", "StrategyScore",
    "TaskRequest", "constraint_from_text", "explain", "parse_constraint", "parse_constraints",
    "parse_expression", "parse_strategies", "parse_strategy", "release_task", "schedule",
    "strategy_from_text",
]
