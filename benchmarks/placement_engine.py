"""Placement decisions per second and p99 time per decision of the pure placement engine.

Places 10,000 tasks one after another onto 1,000 instances (3 availability zones, two
instance types) with one `Placer`, timing every decision, for:

    binpack:memory
    spread:attribute:ecs.availability-zone
    binpack:memory with memberOf "attribute:ecs.instance-type =~ m5.*" (half the instances)
    spread:attribute:ecs.availability-zone,binpack:memory (ECS's chained example)

and, for RunTask's shape, whole `schedule()` calls of 10 tasks on a fresh 1,000-instance
snapshot (building the placer's state included). Goal: at least 20,000 decisions per second
for binpack on 1,000 instances.

    .venv/bin/python benchmarks/placement_engine.py [--instances 1000] [--tasks 10000] [--repeat 3] [--json]

Each scenario runs `--repeat` times on a fresh placer; the run with the median decisions per
second is reported (the machine may be busy with other work).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controlplane.scheduler import (  # after the path set-up
    ClusterSnapshot, InstanceSnapshot, Placement, Placer, TaskRequest, constraint_from_text,
    schedule, strategy_from_text)

GOAL = 20_000  # binpack decisions per second on 1,000 instances
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
TYPES = (("m5.4xlarge", 16384, 65536), ("c5.4xlarge", 16384, 32768))
SHAPES = ((128, 256), (256, 512), (256, 1024), (512, 1024), (512, 2048), (1024, 2048))

SCENARIOS = (
    ("binpack:memory", "binpack:memory", None),
    ("spread:attribute:ecs.availability-zone", "spread:attribute:ecs.availability-zone", None),
    ("binpack:memory + memberOf", "binpack:memory",
     "memberOf:attribute:ecs.instance-type =~ m5.*"),
    ("spread zone, then binpack:memory", "spread:attribute:ecs.availability-zone,binpack:memory",
     None),
)


def cluster(instances: int) -> ClusterSnapshot:
    rng = random.Random("bench-cluster")
    result = []
    for k in range(instances):
        name, cpu, memory = TYPES[k % 2] if rng.random() < 0.9 else TYPES[(k + 1) % 2]
        result.append(InstanceSnapshot(
            f"i-{k:05d}", cpu, memory,
            attributes={"ecs.availability-zone": ZONES[k % 3], "ecs.instance-type": name,
                        "ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64"},
            agent_version="1.80.0", registered_at_ms=1_700_000_000_000 + k))
    return ClusterSnapshot(tuple(result))


def workload(count: int, chain: str, constraint: str | None) -> list[TaskRequest]:
    rng = random.Random("bench-tasks")
    strategies = strategy_from_text(chain)
    constraints = (constraint_from_text(constraint),) if constraint else ()
    return [TaskRequest(f"t-{n:06d}", *rng.choice(SHAPES), group=f"family:app-{rng.randrange(10)}",
                        constraints=constraints, strategies=strategies)
            for n in range(count)]


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def run_scenario(snapshot: ClusterSnapshot, tasks: list[TaskRequest]) -> dict:
    started = time.perf_counter()
    placer = Placer(snapshot)
    setup = time.perf_counter() - started
    durations = []
    placed = 0
    loop_started = time.perf_counter()
    for task in tasks:
        before = time.perf_counter()
        outcome = placer.place(task)
        durations.append(time.perf_counter() - before)
        placed += isinstance(outcome, Placement)
    wall = time.perf_counter() - loop_started
    durations.sort()
    return {"decisions": len(tasks), "placed": placed, "refused": len(tasks) - placed,
            "decisions_per_second": round(len(tasks) / wall),
            "p50_us": round(percentile(durations, 0.50) * 1e6, 1),
            "p99_us": round(percentile(durations, 0.99) * 1e6, 1),
            "max_us": round(durations[-1] * 1e6, 1),
            "setup_ms": round(setup * 1e3, 2)}


def run_task_calls(snapshot: ClusterSnapshot, calls: int = 50, batch: int = 10) -> dict:
    tasks = workload(batch, "binpack:memory", None)
    durations = []
    for _ in range(calls):
        before = time.perf_counter()
        schedule(snapshot, tasks)
        durations.append(time.perf_counter() - before)
    return {"calls": calls, "batch": batch,
            "median_ms": round(statistics.median(durations) * 1e3, 2),
            "max_ms": round(max(durations) * 1e3, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    snapshot = cluster(args.instances)
    results = {}
    for name, chain, constraint in SCENARIOS:
        tasks = workload(args.tasks, chain, constraint)
        runs = sorted((run_scenario(snapshot, tasks) for _ in range(max(1, args.repeat))),
                      key=lambda row: row["decisions_per_second"])
        results[name] = runs[len(runs) // 2]
    batches = run_task_calls(snapshot)
    binpack = results["binpack:memory"]["decisions_per_second"]
    if args.json:
        print(json.dumps({"instances": args.instances, "tasks": args.tasks, "scenarios": results,
                          "run_task_batch": batches, "goal_decisions_per_second": GOAL,
                          "goal_met": binpack >= GOAL}, indent=2))
        return 0
    print(f"placement engine: {args.tasks} tasks onto {args.instances} instances, median of "
          f"{max(1, args.repeat)} runs (Python {sys.version.split()[0]})")
    print(f"{'scenario':42} {'decisions/s':>12} {'p50 µs':>8} {'p99 µs':>8} {'max µs':>9} "
          f"{'placed':>7} {'refused':>7} {'setup ms':>9}")
    for name, row in results.items():
        print(f"{name:42} {row['decisions_per_second']:>12,} {row['p50_us']:>8} "
              f"{row['p99_us']:>8} {row['max_us']:>9} {row['placed']:>7} {row['refused']:>7} "
              f"{row['setup_ms']:>9}")
    print(f"RunTask-sized schedule() of {batches['batch']} tasks on a fresh snapshot: "
          f"median {batches['median_ms']} ms, max {batches['max_ms']} ms "
          f"over {batches['calls']} calls")
    verdict = "met" if binpack >= GOAL else "NOT met"
    print(f"goal >= {GOAL:,} binpack decisions/s on {args.instances} instances: {verdict} "
          f"({binpack:,}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
