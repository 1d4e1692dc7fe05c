"""Users of the API and their tokens (`skiff user create|ls|rm|token rotate`).

A user acts through one role (viewer, operator, admin: see `controlplane.authz`). Their token
is made here, returned once, and stored only as its sha256; the state view finds a user by
that hash on every call. At least one admin always remains.
"""

from __future__ import annotations

import re

from controlplane.authn import new_user_token, token_hash
from controlplane.authz import ADMIN, ROLES
from controlplane.errors import InvalidParameter, NotFound
from controlplane.model import Keys, UserRecord
from controlplane.store import ABSENT
from controlplane.unit_of_work import UnitOfWork

__all__ = ["Users"]

USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class Users:
    def __init__(self, work: UnitOfWork) -> None:
        self.work = work

    def create(self, name: str, role: str) -> tuple[UserRecord, str]:
        """A new user and their token (shown once)."""
        _check_name(name)
        if role not in ROLES:
            raise InvalidParameter("role", f"one of {', '.join(ROLES)}, got {role!r}")
        token = new_user_token()
        key = Keys.user(name)

        def attempt() -> UserRecord:
            if self.work.get(UserRecord, key) is not None:
                raise InvalidParameter("name", f"user {name} already exists (rotate its token "
                                               f"with `skiff user token rotate {name}`)")
            user = UserRecord(name, role, token_hash(token), self.work.now_ms())
            user.version = self.work.commit(puts={key: user.encode()}, expect={key: ABSENT})
            return user

        return self.work.retry(attempt), token

    def ensure_first_admin(self, name: str = "admin") -> str | None:
        """When there are no users at all, make admin `name` and return its token; else None."""
        if self.work.store.list(Keys.user()):
            return None
        try:
            return self.create(name, ADMIN)[1]
        except InvalidParameter:  # another process made it between the look and the write
            return None

    def list(self) -> list[UserRecord]:
        return sorted(self.work.view.users().values(), key=lambda u: u.name)

    def delete(self, name: str) -> UserRecord:
        key = Keys.user(name)

        def attempt() -> UserRecord:
            user = self._get(name)
            expect = {key: user.version}
            if user.role == ADMIN:
                admins = [e for e in self.work.store.list(Keys.user())
                          if UserRecord.decode(e.value, e.mod_revision).role == ADMIN]
                if len(admins) <= 1:
                    raise InvalidParameter("name", f"{name} is the last admin; make another "
                                                   f"admin first")
                expect.update({e.key: e.mod_revision for e in admins})
            self.work.commit(deletes=[key], expect=expect)
            return user

        return self.work.retry(attempt)

    def rotate(self, name: str) -> tuple[UserRecord, str]:
        """A new token for `name`; the old one stops working at once."""
        token = new_user_token()
        key = Keys.user(name)

        def attempt() -> UserRecord:
            user = self._get(name)
            expected = user.version
            user.token_hash = token_hash(token)
            user.version = self.work.commit(puts={key: user.encode()}, expect={key: expected})
            return user

        return self.work.retry(attempt), token

    def _get(self, name: str) -> UserRecord:
        _check_name(name)
        user = self.work.get(UserRecord, Keys.user(name))
        if user is None:
            raise NotFound(f"user {name} does not exist")
        return user


def _check_name(name: str) -> None:
    if not USER_NAME.match(name):
        raise InvalidParameter("name", f"a lowercase letter, then up to 63 lowercase letters, "
                                       f"digits, '_', '.' or '-', got {name!r}")
