"""The control plane's side of the registry's identities: users written to its auth file, pull
tokens for agents that the registry's own code accepts."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from agent.credentials import RegistryCredentials
from controlplane.authn import new_user_token, token_hash
from controlplane.model import UserRecord
from controlplane.registry_access import AGENTS_USER, RegistryAccess, image_repository
from registry.auth import Authorizer, hash_password
from registry.errors import RegistryError

ADDRESS = "127.0.0.1:5000"


@pytest.mark.parametrize("image,expected", [
    ("127.0.0.1:5000/team/app:1", ("127.0.0.1:5000", "team/app")),
    ("127.0.0.1:5000/app", ("127.0.0.1:5000", "app")),
    ("localhost/a/b/c:tag", ("localhost", "a/b/c")),
    ("registry.example:5000/app@sha256:" + "0" * 64, ("registry.example:5000", "app")),
    ("127.0.0.1:5000/app:1@sha256:" + "0" * 64, ("127.0.0.1:5000", "app")),
    ("busybox:1", None),
    ("library/busybox", None),
], ids=["tag", "no-tag", "localhost", "digest", "tag-and-digest", "hub", "hub-namespace"])
def test_image_repository(image: str, expected: tuple[str, str] | None) -> None:
    assert image_repository(image) == expected


def user(name: str, role: str) -> tuple[UserRecord, str]:
    token = new_user_token()
    return UserRecord(name, role, token_hash(token)), token


def basic(name: str, password: str) -> str:
    import base64
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def test_users_are_written_with_their_role_rights_and_hand_entries_are_kept(
        tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"users": {"ci": {"password_hash": hash_password("ci-secret"),
                                                 "repositories": {"ci/*": ["push"]}}},
                                "public": ["library/*"]}))
    access = RegistryAccess(path, ADDRESS)
    (viewer, viewer_token), (operator, operator_token) = user("vera", "viewer"), user("otto",
                                                                                      "operator")
    shadowed, _ = user("ci", "admin")
    assert access.sync([viewer, operator, shadowed])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the token secret
    document = json.loads(path.read_text())
    assert document["public"] == ["library/*"]
    assert document["users"]["ci"]["repositories"] == {"ci/*": ["push"]}  # the hand entry won
    assert len(document["token_secret"]) >= 16

    authorizer = Authorizer.from_file(path)
    vera = authorizer.authenticate(basic("vera", viewer_token))
    otto = authorizer.authenticate(basic("otto", operator_token))
    assert authorizer.allowed(vera, "team/app", "pull")
    assert not authorizer.allowed(vera, "team/app", "push")
    assert authorizer.allowed(otto, "team/app", "push")
    assert not authorizer.allowed(otto, "team/app", "delete")
    with pytest.raises(RegistryError):
        authorizer.authenticate(basic(AGENTS_USER, "!"))

    # Unchanged users: nothing written. A rotated token and a removed user: rewritten.
    assert not access.sync([viewer, operator, shadowed])
    rotated = UserRecord("otto", "operator", token_hash(new_user_token()))
    assert access.sync([rotated])
    assert authorizer.reload_if_changed(force=True)
    for name, token in (("otto", operator_token), ("vera", viewer_token)):
        with pytest.raises(RegistryError):
            authorizer.authenticate(basic(name, token))
    assert "ci" in json.loads(path.read_text())["users"]


def test_a_broken_auth_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{oops")
    with pytest.raises(ValueError, match="auth.json"):
        RegistryAccess(path, ADDRESS).sync([user("vera", "viewer")[0]])
    assert path.read_text() == "{oops"


def test_pull_tokens_are_accepted_by_the_registry_for_one_repository(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    access = RegistryAccess(path, ADDRESS, token_seconds=60)
    access.sync([])
    authorizer = Authorizer.from_file(path)
    minted = access.pull_token(f"{ADDRESS}/team/app:1")
    assert minted is not None
    token, expires_ms = minted
    identity = authorizer.authenticate(f"Bearer {token}")
    assert authorizer.allowed(identity, "team/app", "pull")
    assert not authorizer.allowed(identity, "team/other", "pull")
    assert not authorizer.allowed(identity, "team/app", "push")
    assert expires_ms > 0
    assert access.pull_token("busybox:1") is None
    assert access.pull_token("127.0.0.1:5001/team/app:1") is None  # another registry
    assert hashlib.sha256(token.encode()).hexdigest() not in path.read_text()


def test_issued_credentials_are_asked_only_for_hosts_without_a_login() -> None:
    asked: list[str] = []

    def issuer(image: str) -> dict[str, str] | None:
        asked.append(image)
        return {"registrytoken": "t"} if image.startswith(ADDRESS) else None

    credentials = RegistryCredentials({"other:5000": {"username": "u", "password": "p"}})
    credentials = credentials.with_issuer(issuer)
    assert credentials.for_image(f"{ADDRESS}/app:1") == {"registrytoken": "t"}
    assert credentials.for_image("other:5000/app:1") == {"username": "u", "password": "p"}
    assert credentials.for_image("busybox") is None
    assert asked == [f"{ADDRESS}/app:1", "busybox"]
