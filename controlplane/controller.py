"""The leader's loops: ECS services, lost instances, and the clean-up of stopped tasks.

Level-triggered (design invariant 2): every pass reads the current state from the process's
StateView, decides with the pure `deployments.reconcile`, and applies the decision with
writes fenced by the leadership epoch (invariant 8). A pass runs after any change the view
sees (debounced) and at least every `tick` seconds, for time-based rules (health grace,
backoff, lost instances, retention).

    controller = ServiceController(control_plane, election).start()
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Callable

from controlplane.deployments import (DAEMON, SCHEDULER_STOP, Placement, copy_service,
                                      reconcile, add_event)
from controlplane.leader import Election, NotLeader
from controlplane.model import ContainerInstanceRecord, Keys, ServiceRecord, TaskRecord
from controlplane.resources import ControlPlane
from controlplane.resources.services import new_deployment_id
from controlplane.resources.tasks import MAX_BATCH_TASKS, placement_rules
from controlplane.store import Conflict, StoreError

log = logging.getLogger("skiff.controlplane.controller")


class ServiceController:
    def __init__(self, control_plane: ControlPlane, election: Election, tick: float = 1.0,
                 lost_after: float = 30.0, stopped_retention: float = 3600.0,
                 max_backoff: float = 900.0,
                 debounce: float = 0.02, clock: Callable[[], float] = time.monotonic):
        self.work = control_plane.work
        self.view = control_plane.view
        self.taskdefs = control_plane.taskdefs
        self.tasks = control_plane.tasks
        self.instances = control_plane.instances
        self.election = election
        self.tick = tick
        self.lost_after = lost_after
        self.stopped_retention_ms = int(stopped_retention * 1000)
        self.max_backoff_ms = int(max_backoff * 1000)
        self.debounce = debounce
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._disconnected_since: dict[tuple[str, str], float] = {}
        # (cluster, service) -> (what its last pass decided on, when): a pass whose inputs are
        # the same decides the same, except for the clock, which the pass per tick covers.
        self._settled: dict[tuple[str, str], tuple[tuple, float]] = {}
        self._forgotten_at: dict[str, float] = {}  # cluster -> when its old stopped tasks went
        self._thread: threading.Thread | None = None

    def start(self) -> "ServiceController":
        self.view.on_change(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="service-controller", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        last_pass = -math.inf
        while not self._stop.is_set():
            self._wake.wait(self.tick)
            if self._stop.is_set():
                return
            # A burst of changes becomes one pass: within `debounce` of the last pass the rest
            # of the burst lands first; the first change after a quiet spell goes at once.
            quiet_for = time.monotonic() - last_pass
            if quiet_for < self.debounce:
                self._stop.wait(self.debounce - quiet_for)
            self._wake.clear()
            if self.election.epoch is None:
                continue
            try:
                self.run_once()
            except (NotLeader, Conflict):
                self._wake.set()  # someone else wrote first, or leadership moved: look again
            except StoreError as exc:
                log.warning("controller pass failed: %s", exc)
            except Exception:  # keep the loop alive; the next pass starts from scratch
                log.exception("controller pass crashed")
            last_pass = time.monotonic()

    def run_once(self) -> None:
        """One level-triggered pass over every cluster."""
        for cluster in sorted(self.view.clusters()):
            lost = self._lost_instances(cluster)
            instances = self.view.instances(cluster)
            capacity = (tuple(sorted((i, r.version) for i, r in instances.items())),
                        frozenset(self.view.connected(cluster)), frozenset(lost))
            for service in self.view.services(cluster).values():
                tasks = self.view.service_tasks(cluster, service.group,
                                                [d.id for d in service.deployments])
                inputs = (service.version, tuple((t.task_id, t.version) for t in tasks), capacity)
                settled = self._settled.get((cluster, service.name))
                # Half a tick: the pass the tick wakes (a tick after the one before) always runs.
                if settled and settled[0] == inputs and self.clock() - settled[1] < self.tick / 2:
                    continue
                self._reconcile_service(cluster, service, lost, tasks, inputs, instances)
            # Once a tick, not on every pass a report wakes: a look at every stopped task.
            if self.clock() - self._forgotten_at.get(cluster, -math.inf) >= self.tick:
                self._forgotten_at[cluster] = self.clock()
                self._forget_old_stopped_tasks(cluster)

    def _lost_instances(self, cluster: str) -> set[str]:
        """Instances whose agent has been gone longer than `lost_after` (soft state: a new
        leader starts counting again, which only delays replacement)."""
        now = self.clock()
        connected = self.view.connected(cluster)
        lost = set()
        for instance_id in self.view.instances(cluster):
            key = (cluster, instance_id)
            if instance_id in connected:
                self._disconnected_since.pop(key, None)
                continue
            since = self._disconnected_since.setdefault(key, now)
            if now - since >= self.lost_after:
                lost.add(instance_id)
        return lost

    def _reconcile_service(self, cluster: str, service: ServiceRecord, lost: set[str],
                           tasks: list[TaskRecord], inputs: tuple,
                           instances: dict[str, ContainerInstanceRecord]) -> None:
        self._settled.pop((cluster, service.name), None)
        fence = self.election.fence()
        now_ms = self.work.now_ms()
        spec = self.taskdefs.spec(service.task_definition_arn)
        has_check = any(c.health_check is not None and c.essential for c in spec.containers)
        draining = {i for i, r in instances.items() if r.status == "DRAINING"}
        views = [t.view(t.instance_id in draining, t.instance_id in lost, has_check)
                 for t in tasks]
        eligible = self._eligible(cluster, service) if service.scheduling_strategy == DAEMON else ()
        after = copy_service(service)
        if service.status == "DRAINING":
            after.desired_count = 0
            after.scheduling_strategy = "REPLICA"  # a deleted DAEMON drains like a replica
        decision = reconcile(after, views, now_ms, eligible, new_deployment_id(),
                             self.max_backoff_ms)
        after.scheduling_strategy = service.scheduling_strategy
        primary = next((d for d in after.deployments if d.status == "PRIMARY"), None)
        if primary is not None:  # a rollback changes the service's task definition
            after.task_definition_arn = primary.task_definition_arn

        stopped = self.tasks.stop_tasks(cluster, decision.stop, SCHEDULER_STOP, fence)
        if stopped:
            add_event(after, now_ms, f"(service {service.name}) has stopped {len(stopped)} running "
                                     f"tasks: {' '.join(f'(task {t})' for t in stopped)}.")
        for placement in decision.start:
            self._start(cluster, after, placement, fence, now_ms)

        if service.status == "DRAINING" and not any(v.alive for v in views) and not decision.start:
            key = Keys.service(cluster, service.name)
            self.work.commit(deletes=[key], expect={key: service.version}, fence=fence)
            log.info("service %s deleted", service.name)
            return
        version = service.version
        if after.encode() != service.encode():
            key = Keys.service(cluster, service.name)
            version = self.work.commit(puts={key: after.encode()},
                                       expect={key: service.version}, fence=fence)
        if not stopped and not decision.start:
            # Settled: its own write aside (events, rollout states), nothing changed that it
            # decides on.
            self._settled[(cluster, service.name)] = ((version, *inputs[1:]), self.clock())

    def _start(self, cluster: str, service: ServiceRecord, placement: Placement,
               fence: dict[str, int], now_ms: int) -> None:
        deployment = next(d for d in service.deployments if d.id == placement.deployment_id)
        record = self.taskdefs.describe_task_definition(deployment.task_definition_arn)
        constraints, strategies = placement_rules(service.placement_constraints,
                                                  service.placement_strategy or DEFAULT_SPREAD)
        targets = (placement.instance_id,) if placement.instance_id else None
        remaining = placement.count
        started: list[TaskRecord] = []
        failures = []
        while remaining > 0:  # as many per transaction as etcd takes
            batch = min(MAX_BATCH_TASKS, remaining)
            placed, refused = self.tasks.place(cluster, record, batch, service.group,
                                               deployment.id, constraints, strategies, targets,
                                               fence)
            started += placed
            failures += refused
            remaining -= batch
            if refused:
                break
        if started:
            add_event(service, now_ms, f"(service {service.name}) has started {len(started)} "
                                       f"tasks: {' '.join(f'(task {t.task_id})' for t in started)}.")
        if failures:
            add_event(service, now_ms, f"(service {service.name}) was unable to place a task "
                                       f"because no container instance met all of its "
                                       f"requirements. Reason: {failures[0].reason}: "
                                       f"{failures[0].detail}")

    def _eligible(self, cluster: str, service: ServiceRecord) -> list[str]:
        """For a DAEMON: ACTIVE connected instances that meet the service's memberOf rules."""
        constraints, _ = placement_rules(service.placement_constraints, [])
        connected = self.view.connected(cluster)
        eligible = []
        for record in self.view.instances(cluster).values():
            if record.status != "ACTIVE" or record.instance_id not in connected:
                continue
            snapshot = self.instances.instance_snapshot(record, True)
            if all(c.parsed is None or c.parsed.evaluate(snapshot) for c in constraints):
                eligible.append(record.instance_id)
        return eligible

    def _forget_old_stopped_tasks(self, cluster: str) -> None:
        """Stopped tasks stay describable for `stopped_retention` (ECS: 1 hour), then go."""
        horizon = self.work.now_ms() - self.stopped_retention_ms
        old = [t for t in self.view.stopped_tasks(cluster)
               if t.stopped_at_ms and t.stopped_at_ms < horizon]
        fence = self.election.fence()
        for task in old[:100]:  # bounded work per pass
            key = Keys.task(cluster, task.task_id)
            try:
                self.work.commit(deletes=[key], expect={key: task.version}, fence=fence)
            except Conflict:
                pass


# Services without a strategy spread their tasks over the instances.
DEFAULT_SPREAD = [{"type": "spread", "field": "instanceId"}]
