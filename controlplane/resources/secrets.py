"""Users' secrets (`skiff secret put|ls|describe|rm`, as AWS Secrets Manager) and their values
for a task that starts.

A value goes in with `put` and is sealed at once (`controlplane.secretbox`, bound to the
secret's etcd key); etcd never holds it in clear. Nothing here returns a value except
`for_start`, which only the assignment stream calls, for the agent of the task (design
invariant 9); its errors name secrets, never their contents. A control plane without the
secrets key (plaintext, on loopback) answers every call with an error saying so.

Secrets are looked up when a task starts, not when its definition is registered (as ECS): a
definition may name a secret that does not exist yet, and a task started while it is missing
fails to start, its stoppedReason naming the secret.
"""

from __future__ import annotations

import json

from controlplane.errors import ControlPlaneError, InvalidParameter, NotFound
from controlplane.model import Keys, SecretRecord
from controlplane.secretbox import SealedValueError, SecretBox
from controlplane.secretnames import MAX_SECRET_BYTES, name_problem, secret_reference
from controlplane.store import ABSENT
from controlplane.taskdef import TaskDefinitionSpec
from controlplane.types import ContainerSecrets
from controlplane.unit_of_work import UnitOfWork

__all__ = ["MAX_DESCRIPTION", "SecretUnavailable", "Secrets"]

MAX_DESCRIPTION = 2048  # characters, as Secrets Manager

_NO_KEY = ("this control plane runs without TLS and has no secrets key: secrets need a "
           "secured control plane (`controlplane serve --state-dir`)")


class SecretUnavailable(ControlPlaneError):
    """A secret a task needs to start cannot be given to it (missing, unreadable, or not the
    shape its use needs). The message names the secret and where the task uses it."""


class Secrets:
    def __init__(self, work: UnitOfWork, box: SecretBox | None) -> None:
        self.work = work
        self.box = box

    def put(self, name: str, value: str, description: str | None = None
            ) -> tuple[SecretRecord, bool]:
        """Create the secret, or replace its value (and description, when given). Returns
        its metadata and whether it was created."""
        box = self._box()
        problem = name_problem(name)
        if problem:
            raise InvalidParameter("name", problem)
        size = len(value.encode())
        if not value:
            raise InvalidParameter("value", "must not be empty")
        if size > MAX_SECRET_BYTES:
            raise InvalidParameter("value", f"must be at most {MAX_SECRET_BYTES} bytes, got "
                                            f"{size} bytes")
        if "\0" in value:
            raise InvalidParameter("value", "must not contain NUL characters (a secret becomes "
                                            "an environment variable)")
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise InvalidParameter("description", f"must be at most {MAX_DESCRIPTION} "
                                                  f"characters, got {len(description)}")
        key = Keys.secret(name)

        def attempt() -> tuple[SecretRecord, bool]:
            now = self.work.now_ms()
            current = self.work.get(SecretRecord, key)
            record = SecretRecord(
                name, box.seal(value.encode(), key),
                description if description is not None else
                (current.description if current else ""),
                current.created_at_ms if current else now, now)
            record.version = self.work.commit(
                puts={key: record.encode()},
                expect={key: current.version if current else ABSENT})
            return record, current is None

        return self.work.retry(attempt)

    def list(self) -> list[SecretRecord]:
        self._box()
        records = [SecretRecord.decode(e.value, e.mod_revision)
                   for e in self.work.store.list(Keys.secret())]
        return sorted(records, key=lambda r: r.name)

    def describe(self, reference: str) -> SecretRecord:
        """A secret by name or ARN (its metadata: the record holds the value only sealed)."""
        self._box()
        name = _name(reference)
        record = self.work.get(SecretRecord, Keys.secret(name))
        if record is None:
            raise NotFound(f"secret {name} does not exist")
        return record

    def delete(self, reference: str) -> SecretRecord:
        """Delete a secret at once. Running tasks keep the value they started with; tasks
        that start later and name it fail to start."""
        self._box()
        name = _name(reference)
        key = Keys.secret(name)

        def attempt() -> SecretRecord:
            record = self.work.get(SecretRecord, key)
            if record is None:
                raise NotFound(f"secret {name} does not exist")
            self.work.commit(deletes=[key], expect={key: record.version})
            return record

        return self.work.retry(attempt)

    def for_start(self, spec: TaskDefinitionSpec) -> dict[str, ContainerSecrets]:
        """The secrets each container of `spec` names, in clear, by container name (only
        containers that name any). For the agent of a task that is about to start, and for
        nothing else. Raises SecretUnavailable, naming the first secret that cannot be had."""
        wanted = {name for c in spec.containers for _, name in c.secrets}
        wanted |= {c.repository_credentials for c in spec.containers if c.repository_credentials}
        if not wanted:
            return {}
        if self.box is None:
            raise SecretUnavailable(_NO_KEY)
        entries = self.work.store.get_many([Keys.secret(name) for name in sorted(wanted)])
        opened: dict[str, str] = {}

        def value(name: str, use: str) -> str:
            if name not in opened:
                key = Keys.secret(name)
                entry = entries.get(key)
                if entry is None:
                    raise SecretUnavailable(f"secret {name} ({use}) does not exist")
                record = SecretRecord.decode(entry.value, entry.mod_revision)
                try:
                    opened[name] = self.box.open(record.sealed, key).decode()  # type: ignore[union-attr]  # checked above
                except (SealedValueError, UnicodeDecodeError):
                    raise SecretUnavailable(f"secret {name} ({use}) does not open with this "
                                            f"control plane's secrets key") from None
            return opened[name]

        resolved = {}
        for c in spec.containers:
            if not c.secrets and not c.repository_credentials:
                continue
            environment = tuple((variable, value(name, f"{variable} of container {c.name}"))
                                for variable, name in c.secrets)
            login = None
            if c.repository_credentials:
                use = f"repositoryCredentials of container {c.name}"
                login = _registry_login(c.repository_credentials, value(c.repository_credentials,
                                                                         use), use)
            resolved[c.name] = ContainerSecrets(environment, login)
        return resolved

    def _box(self) -> SecretBox:
        if self.box is None:
            raise InvalidParameter("", _NO_KEY)
        return self.box


def _name(reference: str) -> str:
    name, problem = secret_reference(reference)
    if problem:
        raise InvalidParameter("name", problem)
    return name


def _registry_login(name: str, text: str, use: str) -> tuple[str, str]:
    """(username, password) from a secret holding ECS's JSON; the error never quotes it."""
    try:
        login = json.loads(text)
    except ValueError:
        login = None
    if not (isinstance(login, dict) and isinstance(login.get("username"), str)
            and isinstance(login.get("password"), str)):
        raise SecretUnavailable(f'secret {name} ({use}) must hold JSON {{"username": "...", '
                                f'"password": "..."}}')
    return login["username"], login["password"]
