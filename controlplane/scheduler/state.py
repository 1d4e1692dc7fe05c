"""`ClusterState`: a snapshot plus what the batch placed so far, as flat per-instance arrays.

Instances are addressed by their position `k` in the snapshot. Every change appends `k` to
`touched`, a log the placement indexes replay to stay current (see `engine`). Nothing here
reads a clock or does I/O; the state belongs to one `Placer`.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Iterator

from controlplane.scheduler.model import ClusterSnapshot, Port, TaskRequest

__all__ = ["ClusterState", "random_order"]


def random_order(seed: str, n: int) -> Iterator[int]:
    """A permutation of range(n) seeded by `seed` (the task id), produced lazily.

    A forward Fisher-Yates shuffle over a virtual array: the first k items cost O(k), so a
    `random` strategy that finds a feasible instance early never shuffles the whole cluster.
    The same seed and n give the same order in every process (str seeds hash with SHA-512).
    """
    rand = random.Random(seed).random
    moved: dict[int, int] = {}
    for i in range(n):
        span = n - i
        j = i + min(int(rand() * span), span - 1)
        value = moved.get(j, j)
        moved[j] = moved.get(i, i)
        yield value


class ClusterState:
    """The batch's view: remaining resources, ports and task groups per instance."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        instances = tuple(snapshot.instances)
        self.instances = instances
        self.n = n = len(instances)
        self.ids = [i.instance_id for i in instances]
        self.position = {iid: k for k, iid in enumerate(self.ids)}
        self.cpu = [i.remaining_cpu for i in instances]
        self.mem = [i.remaining_memory for i in instances]
        self.ports: list[frozenset[Port]] = [i.used_ports for i in instances]
        self.active = [i.status == "ACTIVE" for i in instances]
        self.connected = [i.agent_connected for i in instances]
        self.running = [len(i.task_groups) for i in instances]
        self.dyn_range = [i.dynamic_port_range for i in instances]
        # Dynamic range slots: numbers in use there (any protocol) + ports promised unbound.
        self.dyn_reserved = [i.reserved_dynamic_ports for i in instances]
        self.dyn_used = [self._dynamic_in_use(k) for k in range(n)]
        # Tie-break and random order both go by instance id, whatever the snapshot order.
        self.by_id = sorted(range(n), key=self.ids.__getitem__)
        self.id_rank = [0] * n
        for rank, k in enumerate(self.by_id):
            self.id_rank[k] = rank
        self.touched: list[int] = []
        self.placed: dict[str, tuple[int, TaskRequest]] = {}  # task id -> (k, task)
        self._groups: list[dict[str, int] | None] = [None] * n
        self._spread: dict[tuple[str, str], dict[str | None, int]] = {}
        self._spread_attrs: dict[str, list[str]] = {}

    # -- reading ------------------------------------------------------------------------------

    @cached_property
    def ready(self) -> list[bool]:
        """ACTIVE with its agent connected, per instance: what the simulator counts as
        capacity (placement asks the status and agent filters instead)."""
        return [a and c for a, c in zip(self.active, self.connected)]

    def _dynamic_in_use(self, k: int) -> int:
        low, high = self.dyn_range[k]
        numbers = {port for port, _ in self.ports[k] if low <= port <= high}
        return len(numbers) + self.dyn_reserved[k]

    def groups(self, k: int) -> dict[str, int]:
        """Task group -> number of tasks of that group on instance k (built on first use)."""
        counts = self._groups[k]
        if counts is None:
            counts = {}
            for group in self.instances[k].task_groups:
                counts[group] = counts.get(group, 0) + 1
            self._groups[k] = counts
        return counts

    def spread_counts(self, group: str, attribute: str) -> dict[str | None, int]:
        """Attribute value -> tasks of `group` on instances with that value (None: no value).

        Counted over every instance of the snapshot, whatever its status, then kept current.
        """
        key = (group, attribute)
        counts = self._spread.get(key)
        if counts is None:
            counts = {}
            for k, instance in enumerate(self.instances):
                here = self.groups(k).get(group, 0) if self.running[k] else 0
                if here:
                    value = instance.attributes.get(attribute)
                    counts[value] = counts.get(value, 0) + here
            self._spread[key] = counts
            self._spread_attrs.setdefault(group, []).append(attribute)
        return counts

    def free_dynamic_ports(self, k: int) -> int:
        low, high = self.dyn_range[k]
        return high - low + 1 - self.dyn_used[k]

    def new_dynamic_numbers(self, k: int, task: TaskRequest) -> int:
        """Fixed ports of `task` that fall in k's dynamic range and are not in use there yet."""
        low, high = self.dyn_range[k]
        wanted = {port for port, _ in task.fixed_ports if low <= port <= high}
        if not wanted:
            return 0
        return len(wanted - {port for port, _ in self.ports[k]})

    def ports_free(self, k: int, task: TaskRequest) -> bool:
        used = self.ports[k]
        return not any(port in used for port in task.fixed_ports)

    def dynamic_need(self, k: int, task: TaskRequest) -> int:
        """Slots of k's dynamic range the task takes: its dynamic ports, plus its fixed ports
        that fall in the range on numbers not in use yet."""
        return task.dynamic_ports + (self.new_dynamic_numbers(k, task) if task.fixed_ports else 0)

    def dynamic_fits(self, k: int, task: TaskRequest) -> bool:
        need = self.dynamic_need(k, task)
        return need == 0 or need <= self.free_dynamic_ports(k)

    def fits(self, k: int, task: TaskRequest) -> bool:
        """CPU, memory, fixed ports and dynamic ports (the resource filters) together."""
        return (self.cpu[k] >= task.cpu and self.mem[k] >= task.memory
                and (not task.fixed_ports or self.ports_free(k, task))
                and ((not task.dynamic_ports and not task.fixed_ports)
                     or self.dynamic_fits(k, task)))

    # -- changing -----------------------------------------------------------------------------

    def apply(self, k: int, task: TaskRequest) -> None:
        """Take `task`'s resources on instance k (the caller checked that they fit)."""
        dyn = self.dynamic_need(k, task)
        self.cpu[k] -= task.cpu
        self.mem[k] -= task.memory
        if task.fixed_ports:
            self.ports[k] = self.ports[k] | frozenset(task.fixed_ports)
        self.dyn_used[k] += dyn
        self.dyn_reserved[k] += task.dynamic_ports
        self._count(k, task.group, +1)
        self.placed[task.task_id] = (k, task)
        self.touched.append(k)

    def release(self, task_id: str) -> bool:
        """Give back what a task placed by this state took (a departure). False if unknown."""
        entry = self.placed.pop(task_id, None)
        if entry is None:
            return False
        k, task = entry
        self.cpu[k] += task.cpu
        self.mem[k] += task.memory
        if task.fixed_ports:
            self.ports[k] = self.ports[k] - frozenset(task.fixed_ports)
        self.dyn_reserved[k] -= task.dynamic_ports
        self.dyn_used[k] = self._dynamic_in_use(k)  # another task may share a port number
        self._count(k, task.group, -1)
        self.touched.append(k)
        return True

    def _count(self, k: int, group: str, delta: int) -> None:
        counts = self.groups(k)
        now = counts.get(group, 0) + delta
        if now:
            counts[group] = now
        else:
            counts.pop(group, None)
        self.running[k] += delta
        for attribute in self._spread_attrs.get(group, ()):
            spread = self._spread[(group, attribute)]
            value = self.instances[k].attributes.get(attribute)
            spread[value] = spread.get(value, 0) + delta
