"""A small client for Skiff's admin API (`/skiff/v1/...`), standard library only.

What `skiff repo ...` and `skiff image ls` use; it speaks to a running registry, with the same
credentials as `docker login` (sent as Basic auth), over HTTP or HTTPS::

    client = AdminClient("http://127.0.0.1:5000", username="alice", password="...")
    client.create_repository("team/app", immutable=True)
    for image in client.images("team/app"): print(image["imageDigest"], image["imageTags"])

Errors the registry reports come back as `RegistryError` (the code it sent, or UNKNOWN);
a registry that cannot be reached raises `RegistryUnavailable`.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from registry.errors import ERROR_CODES, RegistryError

__all__ = ["AdminClient", "RegistryUnavailable"]


class RegistryUnavailable(Exception):
    """The registry did not answer (down, wrong address, TLS failure)."""


class AdminClient:
    """The admin API of one registry at `url` (e.g. "http://127.0.0.1:5000")."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, *,
                 ca_file: str | None = None, insecure: bool = False, timeout: float = 30.0
                 ) -> None:
        self.url = url.rstrip("/")
        if "://" not in self.url:
            self.url = "http://" + self.url
        self._headers = {"Accept": "application/json"}
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._context: ssl.SSLContext | None = None
        if self.url.startswith("https://"):
            self._context = ssl.create_default_context(cafile=ca_file)
            if insecure:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        self.timeout = timeout

    def _call(self, method: str, path: str, document: Any = None) -> Any:
        data = None if document is None else json.dumps(document).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,
                                        context=self._context) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _error_from(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryUnavailable(
                f"cannot reach the registry at {self.url}: {reason}") from None

    @staticmethod
    def _repo(name: str) -> str:
        return "/skiff/v1/repositories/" + quote(name, safe="/")

    def list_repositories(self) -> list[dict[str, Any]]:
        """Repositories the caller may pull, with settings and counts."""
        return self._call("GET", "/skiff/v1/repositories")["repositories"]

    def create_repository(self, name: str, *, immutable: bool = False,
                          public: bool = False) -> dict[str, Any]:
        return self._call("POST", "/skiff/v1/repositories",
                          {"name": name, "immutable": immutable, "public": public})

    def get_repository(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._repo(name))

    def update_repository(self, name: str, *, immutable: bool | None = None,
                          public: bool | None = None) -> dict[str, Any]:
        changes = {k: v for k, v in (("immutable", immutable), ("public", public))
                   if v is not None}
        return self._call("PATCH", self._repo(name), changes)

    def delete_repository(self, name: str, *, force: bool = False) -> dict[str, Any]:
        return self._call("DELETE", self._repo(name) + ("?force=true" if force else ""))

    def images(self, name: str) -> list[dict[str, Any]]:
        """ECR-style image details, newest first."""
        return self._call("GET", self._repo(name) + "/_images")["imageDetails"]

    def get_lifecycle(self, name: str) -> list[dict[str, Any]]:
        return self._call("GET", self._repo(name) + "/_lifecycle")["rules"]

    def put_lifecycle(self, name: str, policy: dict[str, Any]) -> list[dict[str, Any]]:
        return self._call("PUT", self._repo(name) + "/_lifecycle", policy)["rules"]

    def run_lifecycle(self, name: str, policy: dict[str, Any] | None = None, *,
                      dry_run: bool = False) -> list[dict[str, Any]]:
        """Apply `policy` (default: the stored one) now; the images it expires (or would)."""
        path = self._repo(name) + "/_lifecycle/run" + ("?dryRun=true" if dry_run else "")
        return self._call("POST", path, policy or {})["expired"]


def _error_from(exc: urllib.error.HTTPError) -> RegistryError:
    try:
        entry = json.loads(exc.read())["errors"][0]
        code, message = entry.get("code", "UNKNOWN"), entry.get("message") or ""
        detail = entry.get("detail")
    except (ValueError, KeyError, IndexError, TypeError):
        code, message, detail = "UNKNOWN", f"HTTP {exc.code} {exc.reason}", None
    if code not in ERROR_CODES:
        message, code = f"{code}: {message}", "UNKNOWN"
    return RegistryError(code, message, detail, status=exc.code)
