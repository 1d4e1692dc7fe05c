"""`skiff sim`: the real placement engine against a synthetic or recorded cluster.

    result = run_sim(SimConfig(instances=1000, tasks=10000,
                               strategies=(strategy_from_text("binpack:memory"),), seed=1),
                     clock=time.perf_counter)
    json.dumps(result)

Pure like the rest of the scheduler: no I/O, and the only clock is the `clock` callable the
caller passes (it is read around each decision, for `decisions_per_second` and
`p99_decision_us`). Everything else in the result depends only on the config: the same seed
gives the same placements and the same `placements_digest`.

Events run in time order; at equal times departures go first, then arrivals in workload
order. Each arrival is one placement decision (`Placer.place`), each departure of a placed
task gives its resources back (`Placer.release`). Every strategy chain of the config runs
separately on the same cluster and workload.

Metrics, per strategy chain:

    placed, refused             decisions that placed / refused a task
    cpu_utilisation, ...        reserved / registered over ACTIVE instances, at the end
    peak_*_utilisation          the highest value reached during the run
    fragmentation               free memory on ready instances that fits no pending task
                                (the refused tasks, else every task shape of the workload),
                                as a fraction of all free memory; fragmentation_cpu likewise
    spread_evenness             per task group, min/max of its tasks per value of the spread
                                attribute (the chain's first spread attribute, else
                                ecs.availability-zone), weighted by group size; 1.0 is even
    placements_digest           sha256 of "task instance\\n" lines in decision order
                                ("-" for a refused task)

Formats (the CLI reads the JSON files and passes the dicts):

    snapshot (``skiff debug snapshot``): {"format": "skiff.snapshot/v1", "instances": [
        {"instanceId", "status", "agentConnected", "remainingCpu", "remainingMemory",
         "registeredCpu", "registeredMemory", "usedPorts": ["80/tcp"], "attributes": {},
         "agentVersion", "registeredAtMs", "taskGroups": [], "dynamicPortRange": [lo, hi],
         "reservedDynamicPorts"}]}
    workload: {"tasks": [{"name", "count", "cpu", "memory", "group", "arrival", "interval",
        "duration", "ports": ["80/tcp"], "dynamicPorts", "constraints": [{"type",
        "expression"}], "placementStrategy": [{"type", "field"}]}]}
        (count defaults to 1, interval to 1 tick, duration 0 means the task never leaves,
        placementStrategy overrides the run's chain for those tasks)
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from controlplane.scheduler.engine import Placer
from controlplane.scheduler.errors import PlacementError
from controlplane.scheduler.expression import (Constraint, Strategy, parse_constraints,
                                               parse_strategies)
from controlplane.scheduler.model import (ClusterSnapshot, DEFAULT_DYNAMIC_PORT_RANGE,
                                          InstanceSnapshot, Placement, Port, TaskRequest)
from controlplane.scheduler.snapshot_format import SNAPSHOT_FORMAT, snapshot_to_dict

__all__ = [
    "DEFAULT_INSTANCE_TYPES", "DEFAULT_TASK_SHAPES", "InstanceType", "SNAPSHOT_FORMAT",
    "SimConfig", "Workload", "WorkloadTask", "run_sim", "simulate", "snapshot_from_dict",
    "snapshot_to_dict", "synthetic_cluster", "synthetic_workload", "workload_from_dict",
]

@dataclass(frozen=True)
class InstanceType:
    name: str
    cpu: int
    memory: int


DEFAULT_INSTANCE_TYPES = (
    InstanceType("t3.medium", 2048, 4096), InstanceType("m5.large", 2048, 8192),
    InstanceType("m5.xlarge", 4096, 16384), InstanceType("c5.2xlarge", 8192, 16384),
)
DEFAULT_TASK_SHAPES = ((128, 256), (256, 512), (256, 1024), (512, 1024), (512, 2048),
                       (1024, 2048))


@dataclass(frozen=True)
class WorkloadTask:
    """One task of a workload: arrives at `arrival`, leaves at `departure` (None: stays)."""

    task_id: str
    cpu: int
    memory: int
    group: str = ""
    arrival: int = 0
    departure: int | None = None
    constraints: tuple[Constraint, ...] = ()
    strategies: tuple[Strategy, ...] = ()  # empty: the run's chain
    fixed_ports: tuple[Port, ...] = ()
    dynamic_ports: int = 0


@dataclass(frozen=True)
class Workload:
    tasks: tuple[WorkloadTask, ...]


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. `snapshot` / `workload` replace the synthetic cluster / tasks.

    Synthetic cluster: `instances` instances of `instance_types` (seeded choice), zones
    round-robin in attributes ``ecs.availability-zone`` and ``zone`` (a short alias), plus
    ``ecs.instance-type``, ``ecs.os-type`` and ``ecs.cpu-architecture``. Synthetic workload:
    `tasks` tasks, one per tick, shapes from `task_shapes`, groups ``family:app-<n>`` of
    `groups`; with `lifetime` > 0 each stays between lifetime/2 and 3*lifetime/2 ticks.
    `constraints` apply to every task. Each chain of `strategies` is one run.
    """

    strategies: tuple[tuple[Strategy, ...], ...] = ((Strategy("binpack", "memory"),),)
    constraints: tuple[Constraint, ...] = ()
    seed: int = 1
    instances: int = 100
    tasks: int = 1000
    instance_types: tuple[InstanceType, ...] = DEFAULT_INSTANCE_TYPES
    zones: tuple[str, ...] = ("zone-a", "zone-b", "zone-c")
    task_shapes: tuple[tuple[int, int], ...] = DEFAULT_TASK_SHAPES
    groups: int = 10
    lifetime: int = 0
    snapshot: ClusterSnapshot | None = field(default=None, compare=False)
    workload: Workload | None = field(default=None, compare=False)


# ---------------------------------------------------------------------------------------------
# Synthetic inputs.

def synthetic_cluster(config: SimConfig) -> ClusterSnapshot:
    """`config.instances` instances, the same for the same seed."""
    if config.instances < 0:
        raise PlacementError("instances", f"must be 0 or more, got {config.instances}")
    if not config.instance_types or not config.zones:
        raise PlacementError("instanceTypes", "need at least one instance type and one zone")
    rng = random.Random(f"cluster:{config.seed}")
    instances = []
    for k in range(config.instances):
        kind = rng.choice(config.instance_types)
        zone = config.zones[k % len(config.zones)]
        instances.append(InstanceSnapshot(
            f"i-{k:05d}", kind.cpu, kind.memory,
            attributes={"ecs.availability-zone": zone, "zone": zone,
                        "ecs.instance-type": kind.name, "ecs.os-type": "linux",
                        "ecs.cpu-architecture": "x86_64"},
            agent_version="1.0.0", registered_at_ms=1_700_000_000_000 + k * 60_000,
            registered_cpu=kind.cpu, registered_memory=kind.memory))
    return ClusterSnapshot(tuple(instances))


def synthetic_workload(config: SimConfig) -> Workload:
    """`config.tasks` tasks arriving one per tick, the same for the same seed."""
    if config.tasks < 0:
        raise PlacementError("tasks", f"must be 0 or more, got {config.tasks}")
    if not config.task_shapes or config.groups < 1:
        raise PlacementError("taskShapes", "need at least one task shape and one group")
    rng = random.Random(f"workload:{config.seed}")
    tasks = []
    for n in range(config.tasks):
        cpu, memory = rng.choice(config.task_shapes)
        group = f"family:app-{rng.randrange(config.groups)}"
        departure = None
        if config.lifetime > 0:
            departure = n + rng.randint(max(1, config.lifetime // 2), 3 * config.lifetime // 2 + 1)
        tasks.append(WorkloadTask(f"t-{n:06d}", cpu, memory, group, n, departure))
    return Workload(tuple(tasks))


# ---------------------------------------------------------------------------------------------
# Running.

def run_sim(config: SimConfig, clock: Callable[[], float]) -> dict[str, Any]:
    """Run every strategy chain of `config`; JSON-ready result.

    The top level carries the first chain's metrics (``placed``, ``refused``,
    ``decisions_per_second``, ``cpu_utilisation``, ``memory_utilisation``,
    ``placements_digest``, ...) and ``runs`` has one such object per chain.
    """
    if not config.strategies:
        raise PlacementError("strategy", "give at least one strategy")
    snapshot = config.snapshot if config.snapshot is not None else synthetic_cluster(config)
    workload = config.workload if config.workload is not None else synthetic_workload(config)
    runs = [simulate(snapshot, workload, chain, config.constraints, clock)
            for chain in config.strategies]
    return {"seed": config.seed, "instances": len(snapshot.instances),
            "tasks": len(workload.tasks),
            "departures": sum(1 for t in workload.tasks if t.departure is not None),
            **runs[0], "runs": runs}


def simulate(snapshot: ClusterSnapshot, workload: Workload, chain: Sequence[Strategy],
             constraints: Sequence[Constraint] = (),
             clock: Callable[[], float] | None = None) -> dict[str, Any]:
    """One run of the workload on the snapshot with one strategy chain; its metrics."""
    chain = tuple(chain)
    extra = tuple(constraints)
    placer = Placer(snapshot, explain_rejections=False)
    state = placer.state
    ready = [k for k in range(state.n) if state.ready[k]]
    capacity_cpu = sum(_registered(state.instances[k], "cpu") for k in ready)
    capacity_mem = sum(_registered(state.instances[k], "memory") for k in ready)
    used_cpu = capacity_cpu - sum(state.cpu[k] for k in ready)
    used_mem = capacity_mem - sum(state.mem[k] for k in ready)
    peak_cpu, peak_mem = used_cpu, used_mem

    events = []
    for order, item in enumerate(workload.tasks):
        events.append((item.arrival, 1, order, item))
        if item.departure is not None:
            events.append((max(item.departure, item.arrival), 0, order, item))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    lines: list[str] = []
    durations: list[float] = []
    refused: list[WorkloadTask] = []
    placed_on: dict[str, int] = {}
    for _, kind, _, item in events:
        if kind == 0:
            k = placed_on.pop(item.task_id, None)
            if k is not None and placer.release(item.task_id):
                if state.ready[k]:
                    used_cpu -= item.cpu
                    used_mem -= item.memory
            continue
        task = TaskRequest(item.task_id, item.cpu, item.memory, item.fixed_ports, item.group,
                           item.constraints + extra, item.strategies or chain, item.dynamic_ports)
        if clock is not None:
            started = clock()
            outcome = placer.place(task)
            durations.append(clock() - started)
        else:
            outcome = placer.place(task)
        if isinstance(outcome, Placement):
            k = state.position[outcome.instance_id]
            placed_on[item.task_id] = k
            lines.append(f"{item.task_id} {outcome.instance_id}\n")
            used_cpu += item.cpu
            used_mem += item.memory
            peak_cpu, peak_mem = max(peak_cpu, used_cpu), max(peak_mem, used_mem)
        else:
            refused.append(item)
            lines.append(f"{item.task_id} -\n")

    decisions = len(lines)
    elapsed = sum(durations)
    durations.sort()
    spread_attribute = next((s.attribute for s in chain if s.attribute), None) \
        or "ecs.availability-zone"
    fragmentation_mem, fragmentation_cpu = _fragmentation(state, refused or list(workload.tasks))
    return {
        "strategy": ",".join(str(s) for s in chain) or "default",
        "placed": decisions - len(refused),
        "refused": len(refused),
        "decisions": decisions,
        "decisions_per_second": round(decisions / elapsed, 1) if elapsed > 0 else None,
        "p99_decision_us": (round(durations[min(len(durations) - 1, int(len(durations) * 0.99))]
                                  * 1e6, 1) if durations else None),
        "cpu_utilisation": _ratio(used_cpu, capacity_cpu),
        "memory_utilisation": _ratio(used_mem, capacity_mem),
        "peak_cpu_utilisation": _ratio(peak_cpu, capacity_cpu),
        "peak_memory_utilisation": _ratio(peak_mem, capacity_mem),
        "fragmentation": fragmentation_mem,
        "fragmentation_cpu": fragmentation_cpu,
        "spread_attribute": spread_attribute,
        "spread_evenness": _evenness(state, spread_attribute),
        "placements_digest": hashlib.sha256("".join(lines).encode()).hexdigest(),
    }


def _registered(instance: InstanceSnapshot, resource: str) -> int:
    if resource == "cpu":
        return instance.registered_cpu or instance.remaining_cpu
    return instance.registered_memory or instance.remaining_memory


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def _fragmentation(state, pending: Sequence[WorkloadTask]) -> tuple[float, float]:
    """Share of free memory / CPU on ready instances where no pending task shape fits."""
    shapes = sorted({(t.cpu, t.memory) for t in pending})
    free_mem = stranded_mem = free_cpu = stranded_cpu = 0
    for k in range(state.n):
        if not state.ready[k]:
            continue
        cpu, mem = max(state.cpu[k], 0), max(state.mem[k], 0)
        free_cpu += cpu
        free_mem += mem
        if not any(c <= cpu and m <= mem for c, m in shapes):
            stranded_cpu += cpu
            stranded_mem += mem
    return _ratio(stranded_mem, free_mem), _ratio(stranded_cpu, free_cpu)


def _evenness(state, attribute: str) -> float | None:
    values = {state.instances[k].attributes.get(attribute) for k in range(state.n)
              if state.ready[k]}
    values.discard(None)
    if not values:
        return None
    per_group: dict[str, dict[str, int]] = {}
    for k in range(state.n):
        value = state.instances[k].attributes.get(attribute)
        if value is None or not state.running[k]:
            continue
        for group, count in state.groups(k).items():
            counts = per_group.setdefault(group, {})
            counts[value] = counts.get(value, 0) + count
    total = weighted = 0.0
    for counts in per_group.values():
        sizes = [counts.get(v, 0) for v in values]
        size = sum(sizes)
        total += size
        weighted += size * (min(sizes) / max(sizes))
    return round(weighted / total, 4) if total else 1.0


# ---------------------------------------------------------------------------------------------
# Formats.

def _int(data: Mapping[str, Any], key: str, where: str, default: int | None = None,
         minimum: int | None = 0) -> int:
    value = data.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise PlacementError(f"{where}.{key}", f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise PlacementError(f"{where}.{key}", f"must be at least {minimum}, got {value}")
    return value


def _ports(values: Any, where: str) -> tuple[Port, ...]:
    if not isinstance(values, list):
        raise PlacementError(where, "must be a list like [\"80/tcp\", \"53/udp\"]")
    ports = []
    for index, value in enumerate(values):
        number, _, protocol = str(value).partition("/")
        protocol = (protocol or "tcp").lower()
        if not number.isdigit() or not 0 < int(number) < 65536 or protocol not in ("tcp", "udp"):
            raise PlacementError(f"{where}[{index}]", f"must be PORT[/tcp|udp], got {value!r}")
        ports.append((int(number), protocol))
    return tuple(ports)


def snapshot_from_dict(data: Mapping[str, Any]) -> ClusterSnapshot:
    """Read a ``skiff debug snapshot`` export; errors name the field (``instances[2].status``)."""
    if not isinstance(data, Mapping):
        raise PlacementError("snapshot", "must be a JSON object")
    if data.get("format", SNAPSHOT_FORMAT) != SNAPSHOT_FORMAT:
        raise PlacementError("format", f"must be {SNAPSHOT_FORMAT}, got {data.get('format')!r}")
    items = data.get("instances")
    if not isinstance(items, list):
        raise PlacementError("instances", "must be a list")
    instances, seen = [], set()
    for index, item in enumerate(items):
        where = f"instances[{index}]"
        if not isinstance(item, Mapping):
            raise PlacementError(where, "must be an object")
        iid = item.get("instanceId")
        if not isinstance(iid, str) or not iid:
            raise PlacementError(f"{where}.instanceId", "required")
        if iid in seen:
            raise PlacementError(f"{where}.instanceId", f"duplicate {iid!r}")
        seen.add(iid)
        attributes = item.get("attributes", {})
        if not isinstance(attributes, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
            raise PlacementError(f"{where}.attributes", "must map names to string values")
        groups = item.get("taskGroups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise PlacementError(f"{where}.taskGroups", "must be a list of strings")
        port_range = item.get("dynamicPortRange", list(DEFAULT_DYNAMIC_PORT_RANGE))
        if (not isinstance(port_range, list) or len(port_range) != 2
                or not all(isinstance(p, int) for p in port_range)
                or not 0 < port_range[0] <= port_range[1] < 65536):
            raise PlacementError(f"{where}.dynamicPortRange", "must be [low, high]")
        instances.append(InstanceSnapshot(
            iid, _int(item, "remainingCpu", where, minimum=None),
            _int(item, "remainingMemory", where, minimum=None),
            frozenset(_ports(item.get("usedPorts", []), f"{where}.usedPorts")),
            str(item.get("status", "ACTIVE")), bool(item.get("agentConnected", True)),
            dict(attributes), str(item.get("agentVersion", "")),
            _int(item, "registeredAtMs", where, 0), tuple(groups),
            (port_range[0], port_range[1]), _int(item, "reservedDynamicPorts", where, 0),
            _int(item, "registeredCpu", where, 0), _int(item, "registeredMemory", where, 0)))
    return ClusterSnapshot(tuple(instances))


def workload_from_dict(data: Mapping[str, Any]) -> Workload:
    """Read a workload file (see the module docstring); errors name the field."""
    if not isinstance(data, Mapping) or not isinstance(data.get("tasks"), list):
        raise PlacementError("tasks", "the workload must be an object with a list of tasks")
    tasks: list[WorkloadTask] = []
    seen: set[str] = set()
    for index, item in enumerate(data["tasks"]):
        where = f"tasks[{index}]"
        if not isinstance(item, Mapping):
            raise PlacementError(where, "must be an object")
        name = str(item.get("name") or f"w{index}")
        count = _int(item, "count", where, 1, minimum=1)
        cpu = _int(item, "cpu", where, 0)
        memory = _int(item, "memory", where, 0)
        arrival = _int(item, "arrival", where, 0)
        interval = _int(item, "interval", where, 1)
        duration = _int(item, "duration", where, 0)
        dynamic = _int(item, "dynamicPorts", where, 0)
        group = item.get("group", "") or f"family:{name}"
        if not isinstance(group, str) or len(group) > 255:
            raise PlacementError(f"{where}.group", "must be a string of at most 255 characters")
        ports = _ports(item.get("ports", []), f"{where}.ports")
        constraints = parse_constraints(item.get("constraints", []) or [],
                                        path=f"{where}.constraints")
        strategies = parse_strategies(item.get("placementStrategy", []) or [],
                                      path=f"{where}.placementStrategy")
        for n in range(count):
            task_id = f"{name}-{n}" if count > 1 else name
            if task_id in seen:
                raise PlacementError(f"{where}.name", f"task id {task_id!r} is used twice")
            seen.add(task_id)
            at = arrival + n * interval
            tasks.append(WorkloadTask(task_id, cpu, memory, group, at,
                                      at + duration if duration else None, constraints,
                                      strategies, ports, dynamic))
    return Workload(tuple(tasks))
