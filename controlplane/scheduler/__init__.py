"""Task placement: pure business logic, no I/O and no clock (design invariant 4).

    plan = schedule(ClusterSnapshot(instances), [TaskRequest("t1", cpu=256, memory=128)])
    plan.placements  # (Placement(task_id="t1", instance_id=...),)
    plan.rejections  # one per task that fits nowhere, with the reason per instance

Flow for each task of a batch, in order:

    instances ──► filters (ready → cpu → memory → ports) ──► feasible ──► rank ──► pick
                      │ each rejection recorded with its reason            │
                      ▼                                                    ▼
                 Rejection(reason, per-instance detail)     snapshot updated, next task
"""

from controlplane.scheduler.core import (ClusterSnapshot, InstanceSnapshot, Placement, Plan,
                                         Rejection, TaskRequest, schedule)

__all__ = ["ClusterSnapshot", "InstanceSnapshot", "Placement", "Plan", "Rejection", "TaskRequest",
           "schedule"]
