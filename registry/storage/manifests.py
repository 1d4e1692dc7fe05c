"""Manifests: the media types served, parsing and validation (pure), and the revision record
that stores what listings and the referrers API need of a manifest without re-reading it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from registry.errors import RegistryError
from registry.storage.names import Digest
from registry.storage.records import ManifestInfo

__all__ = ["DOCKER_MANIFEST", "DOCKER_MANIFEST_LIST", "FOREIGN_LAYER_TYPES", "INDEX_MEDIA_TYPES",
           "MANIFEST_MEDIA_TYPES", "MAX_MANIFEST_BYTES", "OCI_EMPTY", "OCI_INDEX", "OCI_MANIFEST",
           "ParsedManifest", "decode_revision", "encode_revision", "manifest_references",
           "parse_manifest"]

# Registries may refuse bigger manifests; 4 MiB is the spec's suggested floor, and ours.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST})
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
# Layers that live elsewhere (Windows base layers); a registry does not hold them.
FOREIGN_LAYER_TYPES = frozenset({
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
})


def _media_type(document: dict, content_type: str | None) -> str:
    """The media type of a manifest from the request's Content-Type and its own mediaType."""
    declared = document.get("mediaType")
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header in MANIFEST_MEDIA_TYPES:
        if declared is not None and declared != header:
            raise RegistryError("MANIFEST_INVALID",
                                f"mediaType {declared!r} does not match Content-Type {header!r}",
                                {"field": "mediaType"})
        return header
    if declared is None:
        # OCI allows omitting mediaType; the shape tells the two OCI types apart.
        declared = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if not isinstance(declared, str) or declared not in MANIFEST_MEDIA_TYPES:
        raise RegistryError("MANIFEST_INVALID", f"unsupported manifest media type {declared!r}",
                            {"mediaType": declared, "supported": sorted(MANIFEST_MEDIA_TYPES)})
    return declared


def _descriptor_list(document: dict, field_name: str) -> list:
    value = document.get(field_name)
    if not isinstance(value, list):
        raise RegistryError("MANIFEST_INVALID", f"{field_name} must be a list",
                            {"field": field_name})
    return value


def _descriptor_digest(descriptor: object, field_name: str) -> Digest:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise RegistryError("MANIFEST_INVALID", f"{field_name} must be a descriptor with a digest",
                            {"field": field_name})
    if not isinstance(descriptor.get("mediaType", ""), str):
        raise RegistryError("MANIFEST_INVALID", f"{field_name}.mediaType must be a string",
                            {"field": field_name})
    size = descriptor.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise RegistryError("MANIFEST_INVALID", f"{field_name}.size must be a non-negative integer",
                            {"field": field_name})
    try:
        return Digest.parse(descriptor["digest"])
    except RegistryError as exc:
        raise RegistryError("DIGEST_INVALID", f"{field_name}.digest: {exc.message}",
                            {"field": field_name, "digest": descriptor["digest"]}) from None


@dataclass(frozen=True)
class ParsedManifest:
    """What a manifest references and what its revision record keeps of it."""

    media_type: str
    blobs: tuple[tuple[Digest, str | None], ...]   # (digest, descriptor mediaType): config, layers
    children: tuple[Digest, ...]                   # manifests an index lists
    subject: Digest | None
    artifact_type: str | None
    annotations: dict[str, str] | None
    image_size: int


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Parse and validate manifest `body` sent with `content_type` (None: from the body alone);
    raise MANIFEST_INVALID or DIGEST_INVALID naming the field at fault."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegistryError("MANIFEST_INVALID", f"manifest is not JSON: {exc}") from None
    except RecursionError:  # the parser recurses once per level; no manifest nests this deep
        raise RegistryError("MANIFEST_INVALID", "manifest nests too deeply") from None
    if not isinstance(document, dict):
        raise RegistryError("MANIFEST_INVALID", "manifest must be a JSON object")
    media_type = _media_type(document, content_type)
    if document.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", "schemaVersion must be 2",
                            {"field": "schemaVersion"})
    blobs: list[tuple[Digest, str | None]] = []
    children: list[Digest] = []
    size = 0
    if media_type in INDEX_MEDIA_TYPES:
        for i, child in enumerate(_descriptor_list(document, "manifests")):
            children.append(_descriptor_digest(child, f"manifests[{i}]"))
            size += child.get("size") or 0
    else:
        config = document.get("config")
        descriptors: list[tuple[str, Any]] = [("config", config)] + [
            (f"layers[{i}]", layer) for i, layer in enumerate(_descriptor_list(document, "layers"))]
        for name, descriptor in descriptors:
            digest = _descriptor_digest(descriptor, name)
            blobs.append((digest, descriptor.get("mediaType")))
            size += descriptor.get("size") or 0
    subject = None
    if "subject" in document and document["subject"] is not None:
        subject = _descriptor_digest(document["subject"], "subject")
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise RegistryError("MANIFEST_INVALID", "artifactType must be a string",
                            {"field": "artifactType"})
    if not artifact_type and media_type == OCI_MANIFEST:
        # The referrers API's rule: an image manifest without artifactType is typed by its config.
        config = document.get("config") or {}
        artifact_type = config.get("mediaType") if isinstance(config, dict) else None
    annotations = document.get("annotations")
    if annotations is not None and not (isinstance(annotations, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())):
        raise RegistryError("MANIFEST_INVALID", "annotations must map strings to strings",
                            {"field": "annotations"})
    return ParsedManifest(media_type, tuple(blobs), tuple(children), subject,
                           artifact_type or None, annotations or None, size)


def manifest_references(body: bytes) -> tuple[list[Digest], list[Digest]]:
    """(blobs, child manifests) a stored manifest references; ([], []) when it cannot be parsed.

    Used by garbage collection, which must not fail on one odd manifest.
    """
    try:
        parsed = parse_manifest(body, None)
    except RegistryError:
        return [], []
    return [d for d, _ in parsed.blobs], list(parsed.children)


def encode_revision(info: ManifestInfo) -> bytes:
    """The revision record of a stored manifest."""
    record: dict[str, Any] = {"digest": str(info.digest), "mediaType": info.media_type,
                              "size": info.size, "pushedAt": info.pushed_at,
                              "imageSize": info.image_size}
    if info.subject:
        record["subject"] = info.subject
    if info.artifact_type:
        record["artifactType"] = info.artifact_type
    if info.annotations:
        record["annotations"] = info.annotations
    return json.dumps(record).encode()


def decode_revision(data: bytes, written_at: str) -> ManifestInfo:
    """A revision record read back; `written_at` stands in for a push time it lacks."""
    record = json.loads(data)
    return ManifestInfo(Digest.parse(record["digest"]), record["mediaType"], record["size"],
                        record.get("pushedAt") or written_at, record.get("subject"),
                        record.get("artifactType"), record.get("annotations"),
                        record.get("imageSize", 0))
