"""Who may do what: the auth file, Basic credentials, and the Docker token flow.

Without an auth file the registry is open (anyone who reaches the port may push and pull). With
one, every request needs credentials, except pulls from public repositories.

The auth file is JSON::

    {
      "users": {
        "alice": {"password_hash": "scrypt$16384$8$1$<salt>$<hash>",
                  "repositories": {"team/*": ["pull", "push", "delete"], "*": ["pull"]}},
        "agent": {"password_hash": "...", "repositories": {"*": ["pull"]}}
      },
      "public": ["library/*"],           optional: repository patterns anyone may pull
      "service": "skiff-registry",       optional: the token service name
      "token_secret": "...",             optional: HMAC key (random per process when absent,
                                         so tokens then end with a restart and clients re-login)
      "token_ttl": 300,                  optional: token lifetime in seconds
      "challenge": "bearer"              optional: "bearer" (Docker's token flow) or "basic"
    }

`password_hash` comes from `hash_password` (`skiff registry hash-password`): scrypt, or
pbkdf2_sha256 written as `pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64), or
`sha256$<hex>`: an unsalted, fast hash, acceptable only for long random tokens (nobody can guess
their way through 256 random bits, so the slow hashes buy nothing there): it is how a Skiff
control plane writes its users' API tokens into the file (it stores nothing but their sha256).
A hash of another shape (e.g. `!`) matches no password: that user can only hold tokens someone
with the `token_secret` signed. Entries may carry other keys; they are ignored. Patterns are
shell-style (`fnmatch`), `*` also matches `/`. Actions are pull, push, delete, or `*` for all
three. A repository created with `--public` is pullable anonymously as well.

Two ways in, both on every route:

- Basic: `Authorization: Basic base64(user:password)` (curl, scripts).
- Bearer (Docker's token flow): a request without credentials gets 401 with
  `WWW-Authenticate: Bearer realm="<base>/token",service="...",scope="repository:<name>:pull"`;
  the client asks `GET /token?service=...&scope=...` (with Basic credentials, or none for public
  pulls) and gets an HMAC-signed token granting the intersection of the scope and the user's
  rights, which it then sends as `Authorization: Bearer <token>`.

Wrong credentials are UNAUTHORIZED (401); a known user without the right is DENIED (403).

The file is read again when it changes (looked at, at most once a second, when requests come
in), so users written by another process take effect without a restart; an unreadable or
invalid new version is logged and the previous one kept. A token records a fingerprint of its
user's password hash (`pwh`), so a changed password also ends the tokens issued for the old one.

Tokens are `base64url(payload) "." base64url(HMAC-SHA256(token_secret, base64url(payload)))`
(no padding), the payload JSON `{"sub", "aud" (the service), "iat", "exp", "access":
[{"type": "repository", "name", "actions"}], "pwh" (optional)}`. Whoever holds `token_secret` may
mint them (a control plane minting pull tokens for its agents does): the format is a contract.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from registry.errors import RegistryError

__all__ = ["ACTIONS", "AuthConfig", "Authorizer", "Identity", "User", "hash_password",
           "password_fingerprint", "verify_password"]

log = logging.getLogger("skiff.registry")

ACTIONS = ("pull", "push", "delete")
_CACHE_SECONDS = 300.0
_RELOAD_CHECK_SECONDS = 1.0


# ---------------------------------------------------------------------------------------------
# Passwords


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, n: int = 2 ** 14, r: int = 8, p: int = 1) -> str:
    """An scrypt hash of `password` for the auth file."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches `encoded` (scrypt or pbkdf2_sha256), in constant time."""
    try:
        scheme, *fields = encoded.split("$")
        if scheme == "scrypt" and len(fields) == 5:
            n, r, p = (int(x) for x in fields[:3])
            salt, expected = base64.b64decode(fields[3]), base64.b64decode(fields[4])
            actual = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p,
                                    dklen=len(expected), maxmem=256 * 1024 * 1024)
        elif scheme == "sha256" and len(fields) == 1:
            expected = bytes.fromhex(fields[0])
            actual = hashlib.sha256(password.encode()).digest()
        elif scheme == "pbkdf2_sha256" and len(fields) == 3:
            iterations = int(fields[0])
            salt, expected = base64.b64decode(fields[1]), base64.b64decode(fields[2])
            actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations,
                                         len(expected))
        else:
            return False
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def password_fingerprint(password_hash: str) -> str:
    """What a token records of its user's password hash: a changed password ends the token."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# The auth file


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is rewritten (in place or by a rename over it)."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def _keys(path: Path) -> set[str]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    return set(document) if isinstance(document, dict) else set()


@dataclass(frozen=True)
class User:
    """A user of the auth file: a password hash and rights per repository pattern."""

    name: str
    password_hash: str
    repositories: tuple[tuple[str, frozenset[str]], ...]

    def actions(self, repository: str) -> frozenset[str]:
        """Every action granted on `repository` by any matching pattern."""
        granted: set[str] = set()
        for pattern, actions in self.repositories:
            if fnmatch.fnmatchcase(repository, pattern):
                granted |= actions
        return frozenset(granted)


@dataclass(frozen=True)
class AuthConfig:
    """The parsed auth file."""

    users: dict[str, User]
    public: tuple[str, ...] = ()
    service: str = "skiff-registry"
    token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    token_ttl: int = 300
    challenge: str = "bearer"

    @classmethod
    def load(cls, path: str | Path) -> "AuthConfig":
        """Read and validate an auth file; ValueError names the bad field."""
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read auth file {path}: {exc}") from None
        return cls.from_json(document, source=str(path))

    @classmethod
    def from_json(cls, document: Any, source: str = "auth file") -> "AuthConfig":
        if not isinstance(document, dict):
            raise ValueError(f"{source}: must be a JSON object")
        users_doc = document.get("users", {})
        if not isinstance(users_doc, dict):
            raise ValueError(f"{source}: users must be an object")
        users = {}
        for name, entry in users_doc.items():
            where = f"{source}: users.{name}"
            if not isinstance(entry, dict) or not isinstance(entry.get("password_hash"), str):
                raise ValueError(f"{where}.password_hash is required (a string)")
            if ":" in name or not name:
                raise ValueError(f"{where}: a user name cannot be empty or contain ':'")
            repositories = entry.get("repositories", {})
            if not isinstance(repositories, dict):
                raise ValueError(f"{where}.repositories must map patterns to action lists")
            rights = []
            for pattern, actions in repositories.items():
                if not isinstance(actions, list) or not all(a in (*ACTIONS, "*") for a in actions):
                    raise ValueError(f"{where}.repositories[{pattern!r}] must be a list of "
                                     f"{', '.join(ACTIONS)} or *")
                expanded = set(ACTIONS) if "*" in actions else set(actions)
                rights.append((pattern, frozenset(expanded)))
            users[name] = User(name, entry["password_hash"], tuple(rights))
        public = document.get("public", [])
        if not isinstance(public, list) or not all(isinstance(p, str) for p in public):
            raise ValueError(f"{source}: public must be a list of repository patterns")
        challenge = document.get("challenge", "bearer")
        if challenge not in ("bearer", "basic"):
            raise ValueError(f"{source}: challenge must be \"bearer\" or \"basic\"")
        ttl = document.get("token_ttl", 300)
        if not isinstance(ttl, int) or ttl <= 0:
            raise ValueError(f"{source}: token_ttl must be a positive number of seconds")
        secret = document.get("token_secret")
        config = cls(users, tuple(public), str(document.get("service", "skiff-registry")),
                     token_ttl=ttl, challenge=challenge)
        if secret is not None:
            if not isinstance(secret, str) or len(secret) < 16:
                raise ValueError(f"{source}: token_secret must be a string of 16+ characters")
            config = AuthConfig(config.users, config.public, config.service, secret.encode(),
                                config.token_ttl, config.challenge)
        return config


# ---------------------------------------------------------------------------------------------
# Identities and decisions


@dataclass(frozen=True)
class Identity:
    """Who made a request. `user` is None for anonymous; a bearer token also limits `granted`."""

    user: str | None
    via: str  # "anonymous", "basic" or "bearer"
    granted: dict[str, frozenset[str]] | None = None  # token scope: repository -> actions

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Identity(None, "anonymous")


class Authorizer:
    """Authenticates requests and decides what an identity may do on a repository.

    `is_public(name)` says whether a repository was created public (storage knows).
    Verified Basic credentials and tokens are cached for a few minutes, so the password hash
    (tens of milliseconds, on purpose) is computed once per client, not once per request; the
    cache is emptied whenever the auth file changes. With `source` (the auth file `config` was
    read from) the file is read again when it changes.
    """

    def __init__(self, config: AuthConfig, is_public: Callable[[str], bool] = lambda _: False,
                 clock: Callable[[], float] = time.time, source: str | Path | None = None) -> None:
        self.config = config
        self._is_public = is_public
        self._clock = clock  # wall time: tokens carry absolute expiry times
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Identity, float]] = {}
        self._source = Path(source) if source is not None else None
        self._source_stamp = _stamp(self._source) if self._source is not None else None
        self._next_check = time.monotonic() + _RELOAD_CHECK_SECONDS

    @classmethod
    def from_file(cls, path: str | Path,
                  is_public: Callable[[str], bool] = lambda _: False) -> "Authorizer":
        """An authorizer following the auth file at `path` (ValueError when it is invalid now)."""
        return cls(AuthConfig.load(path), is_public, source=path)

    def reload_if_changed(self, force: bool = False) -> bool:
        """Read the auth file again when it changed since it was last read (looked at, unless
        `force`, at most once a second). Returns whether a new version was taken."""
        if self._source is None:
            return False
        now = time.monotonic()
        if not force and now < self._next_check:
            return False
        self._next_check = now + _RELOAD_CHECK_SECONDS
        stamp = _stamp(self._source)
        if stamp == self._source_stamp:
            return False
        self._source_stamp = stamp
        try:
            config = AuthConfig.load(self._source)
        except ValueError as exc:
            log.error("auth file changed but cannot be used; keeping the previous one: %s", exc)
            return False
        if config.token_secret != self.config.token_secret and "token_secret" not in _keys(
                self._source):
            # No secret in the file: keep this process's random one, so its tokens stay valid.
            config = AuthConfig(config.users, config.public, config.service,
                                self.config.token_secret, config.token_ttl, config.challenge)
        with self._lock:
            self.config = config
            self._verified.clear()
        log.info("auth file %s read again (%d users)", self._source, len(config.users))
        return True

    # -- authentication

    def authenticate(self, authorization: str | None) -> Identity:
        """The identity behind an Authorization header; UNAUTHORIZED when it is wrong."""
        self.reload_if_changed()
        if not authorization:
            return ANONYMOUS
        now = time.monotonic()
        cached = self._verified.get(authorization)
        if cached is not None and cached[1] > now:
            return cached[0]
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            identity = Identity(self._check_basic(value.strip()), "basic")
            expires = now + _CACHE_SECONDS
        elif scheme == "bearer":
            identity, expires_at = self._check_token(value.strip())
            expires = now + min(_CACHE_SECONDS, max(expires_at - self._clock(), 0))
        else:
            raise RegistryError("UNAUTHORIZED", f"unsupported authorization scheme {scheme!r}")
        with self._lock:
            if len(self._verified) > 10000:
                self._verified.clear()
            self._verified[authorization] = (identity, expires)
        return identity

    def check_password(self, username: str, password: str) -> str:
        """The user's name when `password` is right; UNAUTHORIZED otherwise."""
        user = self.config.users.get(username)
        if user is None or not verify_password(password, user.password_hash):
            raise RegistryError("UNAUTHORIZED", "invalid username or password")
        return username

    def _check_basic(self, value: str) -> str:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError("UNAUTHORIZED", "malformed Basic credentials") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryError("UNAUTHORIZED", "malformed Basic credentials")
        return self.check_password(username, password)

    # -- decisions

    def public(self, repository: str) -> bool:
        """Whether anyone may pull `repository`."""
        if any(fnmatch.fnmatchcase(repository, p) for p in self.config.public):
            return True
        try:
            return self._is_public(repository)
        except RegistryError:
            return False

    def rights(self, user: str | None, repository: str) -> frozenset[str]:
        """What `user` (None: anonymous) may do on `repository`, tokens aside."""
        actions: frozenset[str] = frozenset()
        if user is not None and user in self.config.users:
            actions = self.config.users[user].actions(repository)
        if "pull" not in actions and self.public(repository):
            actions = actions | {"pull"}
        return actions

    def allowed(self, identity: Identity, repository: str, action: str) -> bool:
        """Whether `identity` may do `action` on `repository` now."""
        if identity.via == "bearer":
            granted = (identity.granted or {}).get(repository, frozenset())
            if action not in granted:
                return False
        return action in self.rights(identity.user, repository)

    def needs_new_token(self, identity: Identity, repository: str, action: str) -> bool:
        """A bearer token lacks `action` but its user has the right: ask for a new token (401)."""
        return (identity.via == "bearer" and action in self.rights(identity.user, repository)
                and action not in (identity.granted or {}).get(repository, frozenset()))

    # -- tokens

    def issue_token(self, user: str | None, scopes: list[str]) -> dict[str, Any]:
        """A token granting, for each requested `repository:<name>:<actions>` scope, the
        actions the user has; the answer Docker's token endpoint gives."""
        access: dict[str, set[str]] = {}
        for scope in scopes:
            for item in scope.split(" "):
                kind, _, rest = item.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind != "repository" or not name:
                    continue
                wanted = {a for a in actions.split(",") if a}
                if "*" in wanted:
                    wanted = set(ACTIONS)
                granted = wanted & self.rights(user, name)
                if granted:
                    access.setdefault(name, set()).update(granted)
        now = int(self._clock())
        payload: dict[str, Any] = {
            "sub": user or "", "aud": self.config.service, "iat": now,
            "exp": now + self.config.token_ttl,
            "access": [{"type": "repository", "name": name, "actions": sorted(actions)}
                       for name, actions in sorted(access.items())]}
        if user is not None and user in self.config.users:
            payload["pwh"] = password_fingerprint(self.config.users[user].password_hash)
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        body = body.rstrip(b"=")
        signature = hmac.new(self.config.token_secret, body, hashlib.sha256).digest()
        token = (body + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return {"token": token, "access_token": token, "expires_in": self.config.token_ttl,
                "issued_at": issued}

    def _check_token(self, token: str) -> tuple[Identity, float]:
        body, _, signature = token.partition(".")
        try:
            expected = hmac.new(self.config.token_secret, body.encode(), hashlib.sha256).digest()
            given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            if not hmac.compare_digest(expected, given):
                raise ValueError("bad signature")
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            expires = float(payload["exp"])
            granted = {entry["name"]: frozenset(entry["actions"])
                       for entry in payload.get("access", []) if entry.get("type") == "repository"}
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
            raise RegistryError("UNAUTHORIZED", "invalid token") from None
        if expires <= self._clock():
            raise RegistryError("UNAUTHORIZED", "token expired")
        if payload.get("aud") != self.config.service:
            raise RegistryError("UNAUTHORIZED", "token issued for another service")
        user = payload.get("sub") or None
        if user is not None and user not in self.config.users:
            raise RegistryError("UNAUTHORIZED", "token of an unknown user")
        if user is not None and "pwh" in payload and payload["pwh"] != password_fingerprint(
                self.config.users[user].password_hash):
            raise RegistryError("UNAUTHORIZED", "token issued for a password since changed")
        return Identity(user, "bearer", granted), expires

    def challenge(self, realm: str, scope: str | None) -> str:
        """The WWW-Authenticate header value for a 401."""
        if self.config.challenge == "basic":
            return f'Basic realm="{self.config.service}"'
        value = f'Bearer realm="{realm}",service="{self.config.service}"'
        if scope:
            value += f',scope="{scope}"'
        return value
