"""Registry credentials for image pulls, in the format `docker login` writes.

The file is Docker's config.json ({"auths": {"127.0.0.1:5000": {"auth": base64("user:pass")}}}),
so `skiff agent serve --registry-auth ~/.docker/config.json` reuses a `docker login`; ECS's
agent takes the same shape (ECS_ENGINE_AUTH_TYPE=dockercfg).

For a host the file does not name, an `issuer` is asked: the session asks the control plane,
which hands out a short-lived pull token for images on the bundled registry (Docker's
`registrytoken`, sent to the registry as a bearer token), so no password for it sits on the node.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Callable

__all__ = ["RegistryCredentials", "registry_host"]


def registry_host(image: str) -> str:
    """The registry part of an image reference ("docker.io" when it names none)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


# How `docker login` names Docker Hub in config.json, for the host images name it by.
_HUB_ALIASES = ("index.docker.io/v1", "index.docker.io", "registry-1.docker.io")


Issuer = Callable[[str], "dict[str, str] | None"]  # image -> Docker auth config, or None


class RegistryCredentials:
    def __init__(self, auths: dict[str, dict[str, str]] | None = None,
                 issuer: Issuer | None = None):
        self._auths = auths or {}
        self._issuer = issuer

    def with_issuer(self, issuer: Issuer) -> "RegistryCredentials":
        """These logins, and `issuer` asked for the hosts they do not name."""
        return RegistryCredentials(self._auths, issuer)

    @classmethod
    def load(cls, path: Path) -> "RegistryCredentials":
        """Read a docker config.json; ValueError naming the entry that is malformed."""
        data = json.loads(Path(path).read_text())
        entries = (data.get("auths") or {}) if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: expected an object with \"auths\": {{host: entry}}")
        auths = {}
        for host, entry in entries.items():
            host = host.removeprefix("https://").removeprefix("http://").rstrip("/")
            host = "docker.io" if host in _HUB_ALIASES else host
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: auths.{host} must be an object")
            if "auth" in entry:
                try:
                    decoded = base64.b64decode(entry["auth"], validate=True).decode()
                except ValueError:  # bad base64, or not UTF-8
                    decoded = ""
                username, sep, password = decoded.partition(":")
                if not sep:
                    raise ValueError(f"{path}: auths.{host}.auth is not base64 of user:password")
                auths[host] = {"username": username, "password": password}
            elif "username" in entry:
                auths[host] = {"username": entry["username"], "password": entry.get("password", "")}
            elif "identitytoken" in entry:
                auths[host] = {"identitytoken": entry["identitytoken"]}
        return cls(auths)

    def for_image(self, image: str) -> dict[str, str] | None:
        """Docker's auth config for pulling `image`, or None to pull anonymously."""
        static = self._auths.get(registry_host(image))
        if static is not None or self._issuer is None:
            return static
        return self._issuer(image)
