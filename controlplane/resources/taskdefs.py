"""ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
DeregisterTaskDefinition, and their parsed specs.

Revisions count up per family and are never reused; a registered revision never changes
except for its status (ACTIVE, then INACTIVE), so parsed specs are cached by ARN for good.
"""

from __future__ import annotations

import re
from typing import Any

from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import FamilyRecord, Keys, TaskDefinitionRecord
from controlplane.store import ABSENT
from controlplane.taskdef import TaskDefinitionError, TaskDefinitionSpec, parse_task_definition
from controlplane.unit_of_work import UnitOfWork

__all__ = ["TASKDEF_REFERENCE", "TaskDefinitions"]

TASKDEF_REFERENCE = re.compile(r"^(?:arn:[^/]+:task-definition/)?([A-Za-z0-9_-]{1,255})(?::(\d+))?$")


class TaskDefinitions:
    def __init__(self, work: UnitOfWork):
        self.work = work
        # Task definitions are immutable: parsed specs can be cached by ARN forever.
        self._specs: dict[str, TaskDefinitionSpec] = {}

    def register_task_definition(self, document: Any) -> TaskDefinitionRecord:
        """Validate and store the next revision of the document's family."""
        try:
            spec = parse_task_definition(document)
        except TaskDefinitionError as exc:
            raise InvalidParameter("", str(exc)) from exc

        def attempt() -> TaskDefinitionRecord:
            family = self.work.get(FamilyRecord, Keys.family(spec.family))
            expected = family.version if family else ABSENT
            family = family or FamilyRecord(spec.family)
            family.last_revision += 1
            record = TaskDefinitionRecord(spec.family, family.last_revision, document,
                                          list(spec.ignored_fields),
                                          registered_at_ms=self.work.now_ms())
            key = Keys.taskdef(spec.family, record.revision)
            self.work.commit(puts={Keys.family(spec.family): family.encode(), key: record.encode()},
                             expect={Keys.family(spec.family): expected, key: ABSENT})
            return record

        return self.work.retry(attempt)

    def describe_task_definition(self, reference: str) -> TaskDefinitionRecord:
        """`family` (latest ACTIVE revision), `family:revision`, or an ARN."""
        family, revision = _parse_reference(reference)
        if revision is None:
            active = [r for r in self._revisions(family) if r.status == "ACTIVE"]
            if not active:
                raise NotFound(f"no ACTIVE task definition in family {family!r}")
            return active[-1]
        record = self.work.get(TaskDefinitionRecord, Keys.taskdef(family, revision))
        if record is None:
            raise NotFound(f"task definition {family}:{revision} not found")
        return record

    def _revisions(self, family: str = "") -> list[TaskDefinitionRecord]:
        return [TaskDefinitionRecord.decode(e.value, e.mod_revision)
                for e in self.work.store.list(Keys.taskdefs(family))]

    def list_task_definitions(self, family_prefix: str = "", status: str = "ACTIVE") -> list[str]:
        """ARNs of the revisions whose family starts with `family_prefix`, by status
        (ACTIVE, INACTIVE or ALL)."""
        status = (status or "ACTIVE").upper()
        if status not in ("ACTIVE", "INACTIVE", "ALL"):
            raise InvalidParameter("status", f"must be ACTIVE, INACTIVE or ALL, got {status!r}")
        return [r.arn for r in self._revisions()
                if r.family.startswith(family_prefix) and status in ("ALL", r.status)]

    def deregister_task_definition(self, reference: str) -> TaskDefinitionRecord:
        """Mark `family:revision` (or an ARN) INACTIVE: no new tasks, running ones stay."""
        family, revision = _parse_reference(reference)
        if revision is None:
            raise InvalidParameter("taskDefinition", "deregister needs family:revision or an ARN")

        def attempt() -> TaskDefinitionRecord:
            record = self.describe_task_definition(f"{family}:{revision}")
            if record.status == "INACTIVE":
                return record
            record.status = "INACTIVE"
            record.deregistered_at_ms = self.work.now_ms()
            self.work.commit(puts={Keys.taskdef(family, revision): record.encode()},
                             expect={Keys.taskdef(family, revision): record.version})
            return record

        return self.work.retry(attempt)

    def spec(self, arn_or_reference: str) -> TaskDefinitionSpec:
        """The parsed task definition (cached: revisions never change)."""
        spec = self._specs.get(arn_or_reference)
        if spec is None:
            record = self.describe_task_definition(arn_or_reference)
            spec = self._specs[record.arn] = parse_task_definition(record.document)
        return spec

    def runnable(self, task_definition: str) -> TaskDefinitionRecord:
        """The revision a new task or service may use: it must exist and be ACTIVE."""
        if not task_definition:
            raise InvalidParameter("taskDefinition", "required")
        record = self.describe_task_definition(task_definition)
        if record.status != "ACTIVE":
            raise InvalidParameter("taskDefinition", f"{record.family}:{record.revision} is INACTIVE")
        return record


def _parse_reference(reference: str) -> tuple[str, int | None]:
    match = TASKDEF_REFERENCE.match(reference or "")
    if not match:
        raise InvalidParameter("taskDefinition", f"expected family, family:revision or an ARN, "
                                                 f"got {reference!r}")
    family, revision = match.groups()
    return family, int(revision) if revision else None
