"""`schedule(snapshot, tasks) -> Plan`: feasibility filters, then a ranker.

First version: the binding filters of ECS (instance ready, CPU, memory, fixed host ports)
and a binpack-on-memory ranker with the instance id as tie-break, so the same input always
gives the same plan. Strategies and constraints come as more filters and rankers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Sequence

Port = tuple[int, str]  # (host port, protocol)


@dataclass(frozen=True)
class InstanceSnapshot:
    instance_id: str
    remaining_cpu: int
    remaining_memory: int
    used_ports: frozenset[Port] = frozenset()
    status: str = "ACTIVE"
    agent_connected: bool = True


@dataclass(frozen=True)
class ClusterSnapshot:
    instances: tuple[InstanceSnapshot, ...]


@dataclass(frozen=True)
class TaskRequest:
    task_id: str
    cpu: int
    memory: int
    fixed_ports: tuple[Port, ...] = ()


@dataclass(frozen=True)
class Placement:
    task_id: str
    instance_id: str


@dataclass(frozen=True)
class Rejection:
    task_id: str
    reason: str  # ECS failure reason: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, AGENT, ...
    detail: str  # why each instance refused, in words


@dataclass(frozen=True)
class Plan:
    placements: tuple[Placement, ...] = ()
    rejections: tuple[Rejection, ...] = ()


@dataclass(frozen=True)
class _Verdict:
    reason: str
    detail: str


# A filter returns None when the instance can take the task, else why it cannot.
Filter = Callable[[InstanceSnapshot, TaskRequest], "_Verdict | None"]


def _ready(instance: InstanceSnapshot, task: TaskRequest) -> _Verdict | None:
    if instance.status != "ACTIVE":
        return _Verdict("INACTIVE", f"{instance.instance_id}: status {instance.status}")
    if not instance.agent_connected:
        return _Verdict("AGENT", f"{instance.instance_id}: agent not connected")
    return None


def _cpu(instance: InstanceSnapshot, task: TaskRequest) -> _Verdict | None:
    if task.cpu > instance.remaining_cpu:
        return _Verdict("RESOURCE:CPU", f"{instance.instance_id}: insufficient CPU "
                                        f"(need {task.cpu}, free {instance.remaining_cpu})")
    return None


def _memory(instance: InstanceSnapshot, task: TaskRequest) -> _Verdict | None:
    if task.memory > instance.remaining_memory:
        return _Verdict("RESOURCE:MEMORY", f"{instance.instance_id}: insufficient memory "
                                           f"(need {task.memory}, free {instance.remaining_memory})")
    return None


def _ports(instance: InstanceSnapshot, task: TaskRequest) -> _Verdict | None:
    taken = sorted(p for p in task.fixed_ports if p in instance.used_ports)
    if taken:
        udp = all(proto == "udp" for _, proto in taken)
        listed = ", ".join(f"{port}/{proto}" for port, proto in taken)
        return _Verdict("RESOURCE:PORTS_UDP" if udp else "RESOURCE:PORTS",
                        f"{instance.instance_id}: host port {listed} in use")
    return None


FILTERS: tuple[Filter, ...] = (_ready, _cpu, _memory, _ports)


def _rank_key(instance: InstanceSnapshot) -> tuple:
    # binpack on memory: the least remaining memory that still fits, then the id.
    return (instance.remaining_memory, instance.remaining_cpu, instance.instance_id)


def schedule(snapshot: ClusterSnapshot, tasks: Sequence[TaskRequest]) -> Plan:
    """Place `tasks` in order; each placement reduces what the next task of the batch sees."""
    instances = {i.instance_id: i for i in snapshot.instances}
    placements: list[Placement] = []
    rejections: list[Rejection] = []
    for task in tasks:
        feasible: list[InstanceSnapshot] = []
        verdicts: list[_Verdict] = []
        for instance in instances.values():
            verdict = next((v for f in FILTERS if (v := f(instance, task)) is not None), None)
            if verdict is None:
                feasible.append(instance)
            else:
                verdicts.append(verdict)
        if not feasible:
            rejections.append(_reject(task, verdicts))
            continue
        chosen = min(feasible, key=_rank_key)
        instances[chosen.instance_id] = _take(chosen, task)
        placements.append(Placement(task.task_id, chosen.instance_id))
    return Plan(tuple(placements), tuple(rejections))


def _take(instance: InstanceSnapshot, task: TaskRequest) -> InstanceSnapshot:
    return replace(instance,
                   remaining_cpu=instance.remaining_cpu - task.cpu,
                   remaining_memory=instance.remaining_memory - task.memory,
                   used_ports=instance.used_ports | frozenset(task.fixed_ports))


def _reject(task: TaskRequest, verdicts: list[_Verdict]) -> Rejection:
    if not verdicts:
        return Rejection(task.task_id, "AGENT", "no container instances in the cluster")
    # The reason ECS reports is the most common one; the detail lists every instance.
    counts = Counter(v.reason for v in verdicts)
    reason = max(counts, key=lambda r: (counts[r], r))
    return Rejection(task.task_id, reason, "; ".join(v.detail for v in verdicts))
