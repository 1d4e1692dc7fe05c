"""What storage hands to the layers above: records of blobs, manifests, upload sessions,
repositories and images. Plain values; nothing here touches storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from registry.storage.names import Digest

__all__ = ["BlobInfo", "ImageInfo", "ManifestInfo", "RepositoryInfo", "UploadSession",
           "iso_time", "now_iso"]


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its digest and size in bytes."""

    digest: Digest
    size: int


@dataclass(frozen=True)
class ManifestInfo:
    """A stored manifest revision: digest of its exact bytes, media type, size, and what the
    referrers API and listings need (subject, artifactType, annotations, push time)."""

    digest: Digest
    media_type: str
    size: int
    pushed_at: str = ""
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None
    image_size: int = 0

    def descriptor(self) -> dict[str, Any]:
        """This manifest as an OCI descriptor (what the referrers API lists)."""
        descriptor: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                                      "size": self.size}
        if self.artifact_type:
            descriptor["artifactType"] = self.artifact_type
        if self.annotations:
            descriptor["annotations"] = self.annotations
        return descriptor


@dataclass(frozen=True)
class UploadSession:
    """An upload in progress: `offset` bytes received so far, in repository `repository`."""

    id: str
    repository: str
    offset: int
    started_at: datetime


@dataclass(frozen=True)
class RepositoryInfo:
    """A repository's settings (ECR's): tag immutability, anonymous pull, lifecycle rules."""

    name: str
    created_at: str
    immutable: bool = False
    public: bool = False
    lifecycle: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "createdAt": self.created_at, "immutable": self.immutable,
                "public": self.public, "lifecycle": list(self.lifecycle)}


@dataclass
class ImageInfo:
    """One manifest of a repository as `skiff image ls` shows it (ECR's image detail)."""

    digest: str
    media_type: str
    manifest_size: int
    image_size: int
    pushed_at: str
    tags: list[str] = field(default_factory=list)
    artifact_type: str | None = None
    subject: str | None = None
    # Manifests this one lists (an index's children).
    children: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "imageDigest": self.digest, "imageTags": self.tags, "mediaType": self.media_type,
            "imageSizeInBytes": self.image_size, "imagePushedAt": self.pushed_at}
        if self.artifact_type:
            document["artifactType"] = self.artifact_type
        if self.subject:
            document["subject"] = self.subject
        if self.children:
            document["manifests"] = self.children
        return document



def now_iso() -> str:
    """The current time as the records spell it (UTC, microseconds, `Z`)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_time(stamp: float) -> str:
    """The Unix time `stamp` as the records spell it."""
    return (datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="microseconds")
            .replace("+00:00", "Z"))
