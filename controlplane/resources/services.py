"""ECS services, the API side: CreateService, UpdateService, DeleteService, DescribeServices,
ListServices. These only write desired state (the service record); the leader's controller
(controlplane/controller.py) starts and stops the tasks.
"""

from __future__ import annotations

import random
import re
from typing import Iterable, Sequence

from controlplane.deployments import (ACTIVE, DAEMON, PRIMARY, REPLICA, Deployment, add_event,
                                      copy_service, count_live)
from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import Keys, ServiceRecord
from controlplane.resources.clusters import Clusters, cluster_name
from controlplane.resources.taskdefs import TaskDefinitions
from controlplane.resources.tasks import placement_rules
from controlplane.store import ABSENT
from controlplane.types import Failure
from controlplane.unit_of_work import UnitOfWork

__all__ = ["DEFAULT_HEALTHY_AFTER_SECONDS", "SERVICE_NAME", "Services", "new_deployment_id"]

SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
DEFAULT_HEALTHY_AFTER_SECONDS = 40


def new_deployment_id() -> str:
    """A fresh deployment id in ECS's shape."""
    return f"ecs-svc/{random.randrange(10 ** 18, 10 ** 19)}"


class Services:
    def __init__(self, work: UnitOfWork, clusters: Clusters, taskdefs: TaskDefinitions):
        self.work = work
        self.clusters = clusters
        self.taskdefs = taskdefs

    def service(self, cluster: str, name: str) -> ServiceRecord:
        """The service (by name or ARN) as etcd has it now."""
        cluster = self.clusters.cluster(cluster).name
        name = name.rsplit("/", 1)[-1]
        record = self.work.get(ServiceRecord, Keys.service(cluster, name))
        if record is None:
            raise NotFound(f"service {name} not found in cluster {cluster}")
        return record

    def create_service(self, cluster: str, name: str, task_definition: str, desired_count: int = 0,
                       scheduling_strategy: str = REPLICA, deployment_configuration: dict | None = None,
                       placement_constraints: Sequence[dict] = (), placement_strategy: Sequence[dict] = (),
                       healthy_after_seconds: int | None = None) -> ServiceRecord:
        """ECS CreateService: store the service with its first (PRIMARY) deployment; the
        controller starts its tasks."""
        cluster = self.clusters.cluster(cluster).name
        if not SERVICE_NAME.match(name or ""):
            raise InvalidParameter("serviceName", "up to 255 letters, numbers, hyphens and "
                                                  f"underscores, got {name!r}")
        strategy = (scheduling_strategy or REPLICA).upper()
        if strategy not in (REPLICA, DAEMON):
            raise InvalidParameter("schedulingStrategy", f"must be REPLICA or DAEMON, got "
                                                         f"{scheduling_strategy!r}")
        if strategy == DAEMON and placement_strategy:
            raise InvalidParameter("placementStrategy", "a DAEMON service takes no placement "
                                                        "strategy")
        record = self.taskdefs.runnable(task_definition)
        placement_rules(placement_constraints, placement_strategy)  # validates, names the field
        service = ServiceRecord(name, 0 if strategy == DAEMON else _count(desired_count), [], [],
                                scheduling_strategy=strategy, cluster=cluster,
                                task_definition_arn=record.arn,
                                placement_constraints=list(placement_constraints),
                                placement_strategy=list(placement_strategy),
                                created_at_ms=self.work.now_ms())
        defaults = (0, 100) if strategy == DAEMON else (100, 200)
        _configure(service, deployment_configuration or {}, defaults)
        service.healthy_after_ms = 1000 * _healthy_after(healthy_after_seconds)
        service.deployments.append(Deployment(new_deployment_id(), record.arn, PRIMARY,
                                              created_at_ms=service.created_at_ms,
                                              updated_at_ms=service.created_at_ms,
                                              desired_count=service.desired_count))
        key = Keys.service(cluster, name)

        def attempt() -> ServiceRecord:
            existing = self.work.store.get(key)
            if existing is not None:
                raise InvalidParameter("serviceName", f"service {name} already exists in "
                                                      f"cluster {cluster}")
            self.work.commit(puts={key: service.encode()}, expect={key: ABSENT})
            return service

        return self.work.retry(attempt)

    def update_service(self, cluster: str, name: str, task_definition: str | None = None,
                       desired_count: int | None = None, deployment_configuration: dict | None = None,
                       force_new_deployment: bool = False,
                       placement: tuple[list[dict], list[dict]] | None = None,
                       healthy_after_seconds: int | None = None) -> ServiceRecord:
        """ECS UpdateService: what is given changes; a new task definition (or
        `force_new_deployment`) starts a deployment, which the controller rolls out."""
        record = self.taskdefs.runnable(task_definition) if task_definition else None
        if placement is not None:
            placement_rules(*placement)
        if desired_count is not None:
            _count(desired_count)

        def attempt() -> ServiceRecord:
            service = self.service(cluster, name)
            if service.status != "ACTIVE":
                raise InvalidParameter("service", f"service {name} is {service.status}")
            now = self.work.now_ms()
            if desired_count is not None and service.scheduling_strategy == REPLICA:
                service.desired_count = desired_count
            if deployment_configuration:
                _configure(service, deployment_configuration,
                           (service.minimum_healthy_percent, service.maximum_percent))
            if placement is not None:
                service.placement_constraints, service.placement_strategy = map(list, placement)
            if healthy_after_seconds is not None:
                service.healthy_after_ms = 1000 * _healthy_after(healthy_after_seconds)
            if record is not None or force_new_deployment:
                arn = record.arn if record else service.task_definition_arn
                service.task_definition_arn = arn
                for deployment in service.deployments:
                    if deployment.status == PRIMARY:
                        deployment.status = ACTIVE
                deployment = Deployment(new_deployment_id(), arn, PRIMARY, created_at_ms=now,
                                        updated_at_ms=now, desired_count=service.desired_count)
                service.deployments.insert(0, deployment)
                add_event(service, now, f"(service {service.name}) started deployment "
                                        f"{deployment.id} of {arn.rsplit('/', 1)[-1]}.")
            key = Keys.service(service.cluster, service.name)
            self.work.commit(puts={key: service.encode()}, expect={key: service.version})
            return self.with_live_counts(service)

        return self.work.retry(attempt)

    def delete_service(self, cluster: str, name: str, force: bool = False) -> ServiceRecord:
        """ECS: scale to 0 first, or force. The controller stops the tasks, then removes it."""

        def attempt() -> ServiceRecord:
            service = self.service(cluster, name)
            if service.scheduling_strategy == REPLICA and service.desired_count > 0 and not force:
                raise InvalidParameter("service", "the service cannot be deleted while it is "
                                                  "scaled above 0; scale it to 0 or use force")
            service.status, service.desired_count = "DRAINING", 0
            add_event(service, self.work.now_ms(), f"(service {service.name}) is being deleted.")
            key = Keys.service(service.cluster, service.name)
            self.work.commit(puts={key: service.encode()}, expect={key: service.version})
            return self.with_live_counts(service)

        return self.work.retry(attempt)

    def describe_services(self, cluster: str, names: Iterable[str]
                          ) -> tuple[list[ServiceRecord], list[Failure]]:
        """Read from the state view, as tasks and instances are (this process's own writes
        are in it before they return), with counts from the tasks it holds."""
        cluster = cluster_name(cluster)
        known = self.work.view.services(cluster)
        services, failures = [], []
        for name in names:
            record = known.get(name.rsplit("/", 1)[-1])
            if record is None:
                failures.append(Failure(name, "MISSING"))
            else:
                services.append(self.with_live_counts(record))
        if not services:
            self.clusters.cluster(cluster)  # ECS: a cluster that does not exist is an error
        return services, failures

    def with_live_counts(self, service: ServiceRecord) -> ServiceRecord:
        """A copy of `service` with its deployments' running and pending counts, from the
        tasks the state view holds. (A task on an instance whose agent is lost still counts
        until the controller stops it, which it does on its next pass.)"""
        counted = copy_service(service)
        tasks = self.work.view.service_tasks(service.cluster, service.group,
                                              [d.id for d in service.deployments])
        count_live(counted, [t.view() for t in tasks])
        return counted

    def list_services(self, cluster: str) -> list[ServiceRecord]:
        """The cluster's services, by name."""
        cluster = self.clusters.cluster(cluster).name
        return sorted(self.work.view.services(cluster).values(), key=lambda s: s.name)


def _count(desired_count: int) -> int:
    if desired_count < 0:
        raise InvalidParameter("desiredCount", f"must be 0 or more, got {desired_count}")
    return desired_count


def _healthy_after(seconds: int | None) -> int:
    seconds = DEFAULT_HEALTHY_AFTER_SECONDS if seconds is None else seconds
    if not 0 <= seconds <= 3600:
        raise InvalidParameter("healthyAfterSeconds", f"must be between 0 and 3600, got {seconds}")
    return seconds


def _configure(service: ServiceRecord, config: dict, defaults: tuple[int, int]) -> None:
    minimum = config.get("minimumHealthyPercent", defaults[0])
    maximum = config.get("maximumPercent", defaults[1])
    if not isinstance(minimum, int) or not 0 <= minimum <= 100:
        raise InvalidParameter("deploymentConfiguration.minimumHealthyPercent",
                               f"must be between 0 and 100, got {minimum!r}")
    if not isinstance(maximum, int) or not 100 <= maximum <= 400 and not (
            service.scheduling_strategy == DAEMON and maximum == 100):
        raise InvalidParameter("deploymentConfiguration.maximumPercent",
                               f"must be between 100 and 400, got {maximum!r}")
    service.minimum_healthy_percent, service.maximum_percent = minimum, maximum
    breaker = config.get("deploymentCircuitBreaker")
    if breaker is not None:
        service.circuit_breaker_enable = bool(breaker.get("enable"))
        service.circuit_breaker_rollback = bool(breaker.get("rollback"))
        threshold = breaker.get("threshold", 0)
        if not isinstance(threshold, int) or not 0 <= threshold <= 200:
            raise InvalidParameter("deploymentConfiguration.deploymentCircuitBreaker.threshold",
                                   f"must be between 1 and 200 (0: ECS's rule), got {threshold!r}")
        service.circuit_breaker_threshold = threshold
