"""Lifecycle rules: the pure planner (tables), the policy parser, and applying to storage."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from registry.errors import RegistryError
from registry.lifecycle import apply_lifecycle, parse_policy, plan_expiry
from registry.storage import ImageInfo, Storage
from tests.registry.helpers import OCI_INDEX, OCI_MANIFEST, index_manifest, make_image, sha256

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def image(digest: str, days_old: float, tags: list[str] = (), **extra: object) -> ImageInfo:
    pushed = (NOW - timedelta(days=days_old)).isoformat().replace("+00:00", "Z")
    return ImageInfo(digest, OCI_MANIFEST, 100, 1000, pushed, list(tags), **extra)


def untagged(days: int, priority: int = 1) -> dict:
    return {"rulePriority": priority, "action": {"type": "expire"},
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                          "countUnit": "days", "countNumber": days}}


def keep(n: int, prefixes: list[str] | None, priority: int = 1) -> dict:
    selection = {"tagStatus": "tagged" if prefixes else "any",
                 "countType": "imageCountMoreThan", "countNumber": n}
    if prefixes:
        selection["tagPrefixList"] = prefixes
    return {"rulePriority": priority, "action": {"type": "expire"}, "selection": selection}


IMAGES = [
    image("old-untagged", 30),
    image("new-untagged", 1),
    image("rel-1", 10, ["release-1"]),
    image("rel-2", 8, ["release-2"]),
    image("rel-3", 6, ["release-3", "latest"]),
    image("dev-1", 20, ["dev-1"]),
]


@pytest.mark.parametrize("rules,expired", [
    ([untagged(14)], ["old-untagged"]),
    ([untagged(60)], []),
    ([keep(2, ["release-"])], ["rel-1"]),
    ([keep(1, ["release-"])], ["rel-2", "rel-1"]),
    ([keep(1, ["release-", "lat"])], []),             # only rel-3 has both prefixes
    ([keep(3, None)], ["rel-1", "dev-1", "old-untagged"]),
    # An image selected by an earlier rule is not considered by later ones (ECR's order).
    ([untagged(14, 1), keep(3, None, 2)], ["old-untagged", "dev-1"]),
    ([keep(3, None, 1), untagged(14, 2)], ["rel-1", "dev-1", "old-untagged"]),
], ids=["untagged-14d", "untagged-60d", "keep-2-release", "keep-1-release", "all-prefixes",
        "keep-3-any", "untagged-then-any", "any-then-untagged"])
def test_plan(rules: list[dict], expired: list[str]) -> None:
    plan = plan_expiry(IMAGES, parse_policy({"rules": rules}), NOW)
    assert [e.image.digest for e in plan] == expired


def test_index_children_and_live_referrers_are_never_expired() -> None:
    images = [image("index", 1, ["multi"], children=["child-a", "child-b"]),
              image("child-a", 40), image("child-b", 40),
              image("signature", 40, subject="index"),
              image("orphan-signature", 40, subject="gone")]
    plan = plan_expiry(images, parse_policy([untagged(7)]), NOW)
    assert [e.image.digest for e in plan] == ["orphan-signature"]


@pytest.mark.parametrize("policy,field", [
    ({"rules": "x"}, "rules"),
    ([{"selection": {"tagStatus": "sometimes", "countType": "imageCountMoreThan",
                     "countNumber": 1}}], "rules[0].selection.tagStatus"),
    ([{"selection": {"tagStatus": "tagged", "countType": "imageCountMoreThan",
                     "countNumber": 1}}], "rules[0].selection.tagPrefixList"),
    ([{"selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 0}}],
     "rules[0].selection.countNumber"),
    ([{"selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "hours",
                     "countNumber": 1}}], "rules[0].selection.countUnit"),
    ([{"action": {"type": "archive"}, "selection": {}}], "rules[0].action.type"),
    ([untagged(1, 1), untagged(2, 1)], "rules"),
], ids=["not-a-list", "tag-status", "prefix-required", "count", "unit", "action", "priorities"])
def test_invalid_policy_names_the_field(policy: object, field: str) -> None:
    with pytest.raises(RegistryError) as err:
        parse_policy(policy)
    assert err.value.code == "INVALID_PARAMETER" and err.value.detail == {"field": field}


def test_ecr_policy_round_trips() -> None:
    policy = {"rules": [untagged(14, 1), keep(5, ["release-"], 2)]}
    rules = parse_policy(json.loads(json.dumps(policy)))
    assert parse_policy({"rules": [r.to_json() for r in rules]}) == rules


def test_apply_deletes_with_tags_and_dry_run_deletes_nothing(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "data")
    repository = storage.repository("app")
    digests = []
    for n in range(4):
        built = make_image(f"release {n}")
        for blob in built.blobs:
            repository.put_blob(sha256(blob), [blob])
        repository.put_manifest(f"release-{n}", built.manifest, OCI_MANIFEST)
        digests.append(built.digest)
    # An index lists the oldest: it is protected and not counted among the candidates.
    index = index_manifest([(make_image("release 0").manifest, OCI_MANIFEST, None)])
    repository.put_manifest("multi", index, OCI_INDEX)
    rules = parse_policy([keep(2, ["release-"])])

    preview = apply_lifecycle(repository, rules, dry_run=True)
    assert [e.image.digest for e in preview] == [digests[1]]
    assert "release-" in preview[0].rule.describe()
    assert len(repository.revisions()) == 5

    done = apply_lifecycle(repository, rules)
    assert [e.image.digest for e in done] == [digests[1]]
    assert sorted(repository.tags()) == ["multi", "release-0", "release-2", "release-3"]
    with pytest.raises(RegistryError):
        repository.get_manifest(digests[1])
    assert apply_lifecycle(repository, rules) == []  # idempotent


def test_stored_policy_is_used_by_default(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "data")
    storage.create_repository("app")
    repository = storage.repository("app")
    repository.update(lifecycle=[r.to_json() for r in parse_policy([keep(1, None)])])
    for n in range(3):
        built = make_image(f"img {n}")
        for blob in built.blobs:
            repository.put_blob(sha256(blob), [blob])
        repository.put_manifest(f"v{n}", built.manifest, OCI_MANIFEST)
    assert len(apply_lifecycle(repository)) == 2
    assert len(repository.revisions()) == 1
