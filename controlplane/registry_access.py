"""The bundled registry knows the cluster's identities: users in its auth file, tokens for agents.

The registry imports nothing of ours. The two meet in the registry's auth file, whose format
(and the format of its tokens) `registry.auth` documents; the control plane keeps in it:

- every Skiff user, with `password_hash` `sha256$<hex>`: the sha256 of their API token, which is
  all etcd holds (the token is 256 random bits, so a fast hash is enough). Rights come from the
  role, on every repository: viewer pull; operator pull, push; admin pull, push, delete. So
  `docker login` takes the Skiff user name and token, and a rotated token or a removed user
  stops working at the registry as soon as it reads the file again (within a second).
- `@agents`: a password hash that matches no password, pull on every repository. Nobody logs in
  as it; agents hold only tokens minted here (`pull_token`), naming it, for one repository, for
  a few minutes. No registry password sits on a node.
- `token_secret`: the HMAC key of the registry's tokens, made here when the file has none.

Entries not marked `"managed_by": "skiff"` (written by `skiff registry user-add`, say, with
rights on some repositories) are left as they are; a Skiff user whose name such an entry holds
is not written (the entry wins, and the log says so once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from controlplane.authz import ADMIN, OPERATOR, VIEWER
from controlplane.model import UserRecord

__all__ = ["AGENTS_USER", "RegistryAccess", "image_repository", "role_rights"]

log = logging.getLogger("skiff.controlplane")

AGENTS_USER = "@agents"  # no Skiff user name can hold '@'
MANAGED = "skiff"
DEFAULT_SERVICE = "skiff-registry"
PULL_TOKEN_SECONDS = 300

_ROLE_ACTIONS = {VIEWER: ["pull"], OPERATOR: ["pull", "push"], ADMIN: ["pull", "push", "delete"]}


def role_rights(role: str) -> dict[str, list[str]]:
    """A role's rights at the registry, as the auth file writes them (unknown role: none)."""
    actions = _ROLE_ACTIONS.get(role)
    return {"*": list(actions)} if actions else {}


def image_repository(image: str) -> tuple[str, str] | None:
    """(registry host, repository) of an image reference that names a registry host, else None:
    "127.0.0.1:5000/team/app:1" -> ("127.0.0.1:5000", "team/app")."""
    host, sep, rest = image.partition("/")
    if not sep or not ("." in host or ":" in host or host == "localhost"):
        return None
    rest = rest.partition("@")[0]
    head, _, last = rest.rpartition("/")
    last = last.partition(":")[0]
    repository = f"{head}/{last}" if head else last
    return (host, repository) if repository else None


class RegistryAccess:
    """The registry at `address` (host:port, as images name it), through its `auth_file`."""

    def __init__(self, auth_file: Path, address: str, token_seconds: int = PULL_TOKEN_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.auth_file = Path(auth_file)
        self.address = address
        self.token_seconds = token_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._written: dict[str, tuple[str, str]] | None = None  # name -> (role, token hash)
        self._shadowed: set[str] = set()

    # -- the auth file

    def sync(self, users: Iterable[UserRecord]) -> bool:
        """Write the users (and what else the file needs) when they differ from the file's;
        returns whether it was written. Safe to call after every change of the state view."""
        wanted = {u.name: (u.role, u.token_hash) for u in users}
        with self._lock:
            if wanted == self._written:
                return False
            document = self._read()
            changed = self._merge(document, wanted)
            if changed:
                self._write(document)
            self._written = wanted
            return changed

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self.auth_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Never overwrite a file someone wrote by hand and got wrong: say so, and stop.
            raise ValueError(f"registry auth file {self.auth_file}: {exc}") from None
        if not isinstance(document, dict):
            raise ValueError(f"registry auth file {self.auth_file}: not a JSON object")
        return document

    def _merge(self, document: dict[str, Any], wanted: dict[str, tuple[str, str]]) -> bool:
        before = json.dumps(document, sort_keys=True)
        users = document.setdefault("users", {})
        for name in [n for n, e in users.items()
                     if isinstance(e, dict) and e.get("managed_by") == MANAGED]:
            del users[name]
        for name, (role, token_hash) in sorted(wanted.items()):
            if name in users:
                if name not in self._shadowed:
                    self._shadowed.add(name)
                    log.warning("registry auth file %s has its own user %s; the Skiff user of "
                                "that name is not written there", self.auth_file, name)
                continue
            users[name] = {"password_hash": f"sha256${token_hash}",
                           "repositories": role_rights(role), "managed_by": MANAGED}
        users[AGENTS_USER] = {"password_hash": "!", "repositories": {"*": ["pull"]},
                              "managed_by": MANAGED}
        if not isinstance(document.get("token_secret"), str) or len(document["token_secret"]) < 16:
            document["token_secret"] = secrets.token_urlsafe(32)
        return json.dumps(document, sort_keys=True) != before

    def _write(self, document: dict[str, Any]) -> None:
        """Atomically, readable by the owner only (it holds token_secret)."""
        self.auth_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.auth_file.with_name(f".{self.auth_file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(document, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.auth_file)

    # -- tokens for agents

    def pull_token(self, image: str) -> tuple[str, int] | None:
        """(token, expiry in ms) granting pull on `image`'s repository to `@agents`, or None
        when the image is not on this registry."""
        named = image_repository(image)
        if named is None or named[0] != self.address:
            return None
        document = self._read()
        secret = document.get("token_secret")
        if not isinstance(secret, str):
            raise ValueError(f"registry auth file {self.auth_file} has no token_secret yet")
        now = int(self._clock())
        expires = now + self.token_seconds
        payload = {"sub": AGENTS_USER, "aud": str(document.get("service", DEFAULT_SERVICE)),
                   "iat": now, "exp": expires,
                   "access": [{"type": "repository", "name": named[1], "actions": ["pull"]}]}
        return _sign(secret.encode(), payload), expires * 1000


def _sign(secret: bytes, payload: dict[str, Any]) -> str:
    """A token in the registry's format (see `registry.auth`)."""
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    body = body.rstrip(b"=")
    signature = hmac.new(secret, body, hashlib.sha256).digest()
    return (body + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
