"""The registry's errors: one table of OCI error codes, one exception class.

Storage and handlers raise `RegistryError("BLOB_UNKNOWN", ...)`; only the HTTP edge
(`registry.http`) turns it into a status line and the spec's JSON body::

    {"errors": [{"code": "BLOB_UNKNOWN", "message": "...", "detail": ...}]}

The codes and their statuses follow the OCI Distribution Spec v1.1 and, where the spec leaves
the status open, distribution/distribution (MANIFEST_BLOB_UNKNOWN is 400, UNSUPPORTED is 405).
A few codes at the end of the table belong to Skiff's admin API (ECR-style repository
management) and never appear on an OCI route.

Decisions where the spec allows a choice:

- tag deletion is supported (`DELETE /v2/<name>/manifests/<tag>` answers 202);
- pushing an existing tag to an immutable repository is DENIED (403) with a message saying so;
- a manifest over 4 MiB is SIZE_INVALID with status 413 (the spec's "Payload Too Large").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ERROR_CODES", "ErrorCode", "RegistryError"]


@dataclass(frozen=True)
class ErrorCode:
    """One row of the table: the spec's code, its usual HTTP status and a default message."""

    code: str
    status: int
    message: str


ERROR_CODES: dict[str, ErrorCode] = {c.code: c for c in (
    ErrorCode("BLOB_UNKNOWN", 404, "blob unknown to registry"),
    ErrorCode("BLOB_UPLOAD_INVALID", 400, "blob upload invalid"),
    ErrorCode("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"),
    ErrorCode("DIGEST_INVALID", 400, "provided digest did not match uploaded content"),
    ErrorCode("MANIFEST_BLOB_UNKNOWN", 400,
              "manifest references a manifest or blob unknown to registry"),
    ErrorCode("MANIFEST_INVALID", 400, "manifest invalid"),
    ErrorCode("MANIFEST_UNKNOWN", 404, "manifest unknown to registry"),
    ErrorCode("NAME_INVALID", 400, "invalid repository name"),
    ErrorCode("NAME_UNKNOWN", 404, "repository name not known to registry"),
    ErrorCode("SIZE_INVALID", 400, "provided length did not match content length"),
    ErrorCode("UNAUTHORIZED", 401, "authentication required"),
    ErrorCode("DENIED", 403, "requested access to the resource is denied"),
    ErrorCode("UNSUPPORTED", 405, "the operation is unsupported"),
    ErrorCode("TOOMANYREQUESTS", 429, "too many requests"),
    # Not in the spec's table: what a 500 carries (as distribution does).
    ErrorCode("UNKNOWN", 500, "unknown error"),
    # Skiff's admin API (/skiff/v1/...) only, never on an OCI (/v2/) route.
    ErrorCode("REPOSITORY_EXISTS", 409, "repository already exists"),
    ErrorCode("REPOSITORY_NOT_EMPTY", 409, "repository is not empty"),
    ErrorCode("INVALID_PARAMETER", 400, "invalid parameter"),
)}


class RegistryError(Exception):
    """An error the client caused or must know about, named by an OCI error code.

    `status` overrides the table's status where the spec asks for another one for the same
    code (e.g. 404 UNSUPPORTED for an unknown route, 416 BLOB_UPLOAD_INVALID for a bad range);
    only the HTTP layer should need it.
    """

    def __init__(self, code: str, message: str | None = None, detail: Any = None,
                 *, status: int | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown OCI error code {code!r}")
        self.code = code
        self.message = message or ERROR_CODES[code].message
        self.detail = detail
        self.status = status or ERROR_CODES[code].status
        super().__init__(f"{code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        """This error as one entry of the spec's `errors` list."""
        entry: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return entry
