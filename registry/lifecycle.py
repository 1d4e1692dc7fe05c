"""Lifecycle rules: a subset of ECR's lifecycle policies, in ECR's own JSON shape.

A policy is ECR's document, so one written for ECR works unchanged when it stays in the subset::

    {"rules": [
      {"rulePriority": 1, "description": "drop untagged after 14 days",
       "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                     "countUnit": "days", "countNumber": 14},
       "action": {"type": "expire"}},
      {"rulePriority": 2,
       "selection": {"tagStatus": "tagged", "tagPrefixList": ["release-"],
                     "countType": "imageCountMoreThan", "countNumber": 5},
       "action": {"type": "expire"}}
    ]}

Supported: `tagStatus` untagged, tagged (with `tagPrefixList`; an image must have a tag for every
prefix) or any; `countType` sinceImagePushed (days) or imageCountMoreThan (keep the newest N).
Rules run in `rulePriority` order and an image selected by one rule is not considered by later
ones, as in ECR. Never expired: an index's child manifests and a referrer (signature, SBOM)
whose subject is still here; they go with what they belong to.

`plan_expiry` is pure (images in, expiries out); `apply_lifecycle` deletes what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from registry.errors import RegistryError
from registry.storage import ImageInfo, Repository

__all__ = ["Expiry", "LifecycleRule", "apply_lifecycle", "parse_policy", "plan_expiry"]


@dataclass(frozen=True)
class LifecycleRule:
    """One validated rule."""

    priority: int
    tag_status: str                   # "untagged", "tagged" or "any"
    count_type: str                   # "sinceImagePushed" or "imageCountMoreThan"
    count: int
    tag_prefixes: tuple[str, ...] = ()
    description: str = ""

    def selects(self, image: ImageInfo) -> bool:
        if self.tag_status == "untagged":
            return not image.tags
        if self.tag_status == "tagged":
            return bool(image.tags) and all(
                any(tag.startswith(prefix) for tag in image.tags) for prefix in self.tag_prefixes)
        return True

    def describe(self) -> str:
        what = {"untagged": "untagged images",
                "tagged": "images tagged " + ", ".join(f"{p}*" for p in self.tag_prefixes),
                "any": "all images"}[self.tag_status]
        if self.count_type == "sinceImagePushed":
            return f"rule {self.priority}: {what} pushed more than {self.count} day(s) ago"
        return f"rule {self.priority}: {what} beyond the newest {self.count}"

    def to_json(self) -> dict[str, Any]:
        selection: dict[str, Any] = {"tagStatus": self.tag_status, "countType": self.count_type,
                                     "countNumber": self.count}
        if self.count_type == "sinceImagePushed":
            selection["countUnit"] = "days"
        if self.tag_prefixes:
            selection["tagPrefixList"] = list(self.tag_prefixes)
        rule: dict[str, Any] = {"rulePriority": self.priority, "selection": selection,
                                "action": {"type": "expire"}}
        if self.description:
            rule["description"] = self.description
        return rule


@dataclass(frozen=True)
class Expiry:
    """An image a rule expires, and why."""

    image: ImageInfo
    rule: LifecycleRule

    def to_json(self) -> dict[str, Any]:
        return {"imageDigest": self.image.digest, "imageTags": self.image.tags,
                "imagePushedAt": self.image.pushed_at, "rulePriority": self.rule.priority,
                "reason": self.rule.describe()}


def _invalid(message: str, field: str) -> RegistryError:
    return RegistryError("INVALID_PARAMETER", message, {"field": field})


def parse_policy(document: Any) -> list[LifecycleRule]:
    """Validate an ECR lifecycle policy ({"rules": [...]}, or the list of rules itself)."""
    rules = document.get("rules") if isinstance(document, dict) else document
    if not isinstance(rules, list):
        raise _invalid("a lifecycle policy is {\"rules\": [...]}", "rules")
    parsed: list[LifecycleRule] = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not isinstance(rule, dict):
            raise _invalid(f"{where} must be an object", where)
        priority = rule.get("rulePriority", i + 1)
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            raise _invalid(f"{where}.rulePriority must be a positive integer",
                           f"{where}.rulePriority")
        action = (rule.get("action") or {"type": "expire"}).get("type")
        if action != "expire":
            raise _invalid(f"{where}.action.type must be \"expire\"", f"{where}.action.type")
        selection = rule.get("selection")
        if not isinstance(selection, dict):
            raise _invalid(f"{where}.selection must be an object", f"{where}.selection")
        status = selection.get("tagStatus")
        if status not in ("untagged", "tagged", "any"):
            raise _invalid(f"{where}.selection.tagStatus must be untagged, tagged or any",
                           f"{where}.selection.tagStatus")
        prefixes = selection.get("tagPrefixList") or []
        if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
            raise _invalid(f"{where}.selection.tagPrefixList must be a list of non-empty strings",
                           f"{where}.selection.tagPrefixList")
        if status == "tagged" and not prefixes:
            raise _invalid(f"{where}.selection.tagPrefixList is required with tagStatus tagged",
                           f"{where}.selection.tagPrefixList")
        if status != "tagged" and prefixes:
            raise _invalid(f"{where}.selection.tagPrefixList needs tagStatus tagged",
                           f"{where}.selection.tagPrefixList")
        count_type = selection.get("countType")
        if count_type not in ("sinceImagePushed", "imageCountMoreThan"):
            raise _invalid(f"{where}.selection.countType must be sinceImagePushed or "
                           "imageCountMoreThan", f"{where}.selection.countType")
        if count_type == "sinceImagePushed" and selection.get("countUnit", "days") != "days":
            raise _invalid(f"{where}.selection.countUnit must be days",
                           f"{where}.selection.countUnit")
        count = selection.get("countNumber")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _invalid(f"{where}.selection.countNumber must be a positive integer",
                           f"{where}.selection.countNumber")
        parsed.append(LifecycleRule(priority, status, count_type, count, tuple(prefixes),
                                    str(rule.get("description") or "")))
    priorities = [r.priority for r in parsed]
    if len(set(priorities)) != len(priorities):
        raise _invalid("rulePriority values must be unique", "rules")
    return sorted(parsed, key=lambda r: r.priority)


def _pushed(image: ImageInfo) -> datetime:
    try:
        return datetime.fromisoformat(image.pushed_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)


def plan_expiry(images: list[ImageInfo], rules: list[LifecycleRule],
                now: datetime | None = None) -> list[Expiry]:
    """The images `rules` expire, in rule order (pure: no I/O)."""
    now = now or datetime.now(timezone.utc)
    digests = {image.digest for image in images}
    protected = {child for image in images for child in image.children}
    protected |= {image.digest for image in images if image.subject in digests}
    remaining = [image for image in images if image.digest not in protected]
    expiries: list[Expiry] = []
    for rule in sorted(rules, key=lambda r: r.priority):
        selected = [image for image in remaining if rule.selects(image)]
        if rule.count_type == "imageCountMoreThan":
            newest_first = sorted(selected, key=lambda i: (_pushed(i), i.digest), reverse=True)
            expired = newest_first[rule.count:]
        else:
            limit = now - timedelta(days=rule.count)
            expired = [image for image in selected if _pushed(image) < limit]
        expiries.extend(Expiry(image, rule) for image in expired)
        chosen = {image.digest for image in selected}
        remaining = [image for image in remaining if image.digest not in chosen]
    return expiries


def apply_lifecycle(repository: Repository, rules: list[LifecycleRule] | None = None, *,
                    dry_run: bool = False, now: datetime | None = None) -> list[Expiry]:
    """Expire what `rules` (default: the repository's stored policy) select; with `dry_run`
    only report it. Returns the expiries."""
    if rules is None:
        rules = parse_policy(list(repository.info().lifecycle))
    expiries = plan_expiry(repository.images(), rules, now)
    if not dry_run:
        for expiry in expiries:
            try:
                repository.delete_manifest(expiry.image.digest)
            except RegistryError as exc:
                if exc.code != "MANIFEST_UNKNOWN":  # deleted meanwhile: the goal is reached
                    raise
    return expiries
