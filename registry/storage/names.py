"""Names, tags, digests and upload ids: the OCI Distribution Spec v1.1 grammars, checked before
any of them becomes part of a storage path (see `paths`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from registry.errors import RegistryError

__all__ = ["ALGORITHMS", "MAX_NAME_LENGTH", "Digest", "is_tag", "is_upload_id",
           "lookup_reference", "parse_digest", "parse_reference", "tag_sort_key",
           "validate_name", "validate_tag"]

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_HEX_RE = re.compile(r"[0-9a-f]+")
_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# distribution's limit; longer names break most clients anyway.
MAX_NAME_LENGTH = 255
# Digest algorithm -> length of its lowercase hex encoding.
ALGORITHMS = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True)
class Digest:
    """A validated content digest, `algorithm:hex` (sha256 or sha512)."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, value: str) -> "Digest":
        """Parse and validate `value`; raise DIGEST_INVALID when it is malformed or unsupported."""
        cached = _DIGESTS.get(value) if isinstance(value, str) else None
        if cached is not None:
            return cached
        if not isinstance(value, str) or not _DIGEST_RE.fullmatch(value):
            raise RegistryError("DIGEST_INVALID", f"invalid digest {value!r}",
                                {"digest": str(value)})
        algorithm, hexpart = value.split(":", 1)
        if algorithm not in ALGORITHMS:
            raise RegistryError("DIGEST_INVALID", f"unsupported digest algorithm {algorithm!r}",
                                {"digest": value})
        if len(hexpart) != ALGORITHMS[algorithm] or not _HEX_RE.fullmatch(hexpart):
            raise RegistryError("DIGEST_INVALID", f"{algorithm} digest must be "
                                f"{ALGORITHMS[algorithm]} lowercase hex digits", {"digest": value})
        digest = cls(algorithm, hexpart)
        if len(_DIGESTS) > 65536:
            _DIGESTS.clear()
        _DIGESTS[value] = digest
        return digest

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        """The digest of `data`."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> "hashlib._Hash":
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


# Parsing digests is on every request's path; valid ones are remembered.
_DIGESTS: dict[str, Digest] = {}


def parse_digest(value: str | Digest) -> Digest:
    """`value` as a Digest; raise DIGEST_INVALID when it is not one."""
    return value if isinstance(value, Digest) else Digest.parse(value)


def validate_name(name: str) -> str:
    """Return `name` when it is a valid repository name; raise NAME_INVALID otherwise.

    Names are lowercase components separated by `/` (`team/app/web`); `..`, absolute paths,
    empty components and upper case are all rejected by the grammar, which keeps every name a
    safe relative path.
    """
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name {name!r}",
                            {"name": str(name)})
    return name


def is_tag(value: str) -> bool:
    """Whether `value` matches the spec's tag grammar."""
    return _TAG_RE.fullmatch(value) is not None


def validate_tag(tag: str) -> str:
    """Return `tag` when it matches the spec's tag grammar; raise MANIFEST_INVALID otherwise."""
    if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
        # The spec has no TAG_INVALID; distribution answers a bad tag with MANIFEST_INVALID.
        raise RegistryError("MANIFEST_INVALID", f"invalid tag {tag!r}", {"tag": str(tag)})
    return tag


def parse_reference(reference: str) -> str | Digest:
    """A manifest reference: a Digest when it contains ':', else a validated tag."""
    if ":" in reference:
        return Digest.parse(reference)
    return validate_tag(reference)


def lookup_reference(reference: str) -> str | Digest:
    """A manifest reference to look up: as `parse_reference`, except that a string that is no
    valid tag names no manifest, so it is MANIFEST_UNKNOWN (the spec's answer to GET or HEAD of
    a missing manifest) rather than MANIFEST_INVALID (which is for a bad tag on PUT)."""
    if isinstance(reference, str) and ":" not in reference and not _TAG_RE.fullmatch(reference):
        raise RegistryError("MANIFEST_UNKNOWN", f"unknown tag {reference!r}", {"tag": reference})
    return parse_reference(reference)


def tag_sort_key(tag: str) -> tuple[str, str]:
    """The spec's "lexical order" of tags: case-insensitive, ties broken by the exact bytes."""
    return tag.lower(), tag


def is_upload_id(value: object) -> bool:
    """Whether `value` has the shape of an upload session id (a uuid4 in lowercase hex)."""
    return isinstance(value, str) and _UPLOAD_ID_RE.fullmatch(value) is not None
