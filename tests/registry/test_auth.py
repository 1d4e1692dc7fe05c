"""Authentication and authorisation: passwords, tokens, the Docker token flow over HTTP,
public repositories, DENIED vs UNAUTHORIZED, and TLS."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from registry.auth import AuthConfig, Authorizer, hash_password, verify_password
from registry.client import AdminClient
from registry.errors import RegistryError
from registry.server import RegistryServer
from tests.registry.helpers import Client, make_image, push_image, verify_pullable

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret", "agent": "agent-token-0123456789"}


def write_auth_file(path: Path, **extra: object) -> Path:
    document = {
        "users": {
            "alice": {"password_hash": hash_password(PASSWORDS["alice"]),
                      "repositories": {"team/*": ["*"], "shared/*": ["pull", "push"]}},
            "bob": {"password_hash": hash_password(PASSWORDS["bob"]),
                    "repositories": {"team/*": ["pull"]}},
            "agent": {"password_hash": hash_password(PASSWORDS["agent"]),
                      "repositories": {"*": ["pull"]}},
        },
        "public": ["library/*"],
        "token_secret": "a-test-secret-of-some-length",
        **extra,
    }
    path.write_text(json.dumps(document))
    return path


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password or PASSWORDS[user]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RegistryServer]:
    auth_file = write_auth_file(tmp_path / "auth.json")
    with RegistryServer(tmp_path / "registry", port=0, auth_file=auth_file) as server:
        yield server


@pytest.fixture
def anonymous(secured: RegistryServer) -> Iterator[Client]:
    client = Client(secured.port)
    yield client
    client.close()


def token_for(client: Client, scope: str, user: str | None = None) -> str:
    headers = basic(user) if user else {}
    reply = client.request("GET", f"/token?service=skiff-registry&scope={scope}", headers=headers)
    assert reply.status == 200, reply.body
    document = reply.json()
    assert document["token"] == document["access_token"] and document["expires_in"] > 0
    return document["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------
# Units


@pytest.mark.parametrize("encoded", [
    hash_password("s3cret"),
    "pbkdf2_sha256$1000$" + base64.b64encode(b"salt").decode() + "$" + base64.b64encode(
        __import__("hashlib").pbkdf2_hmac("sha256", b"s3cret", b"salt", 1000)).decode(),
    "sha256$" + __import__("hashlib").sha256(b"s3cret").hexdigest(),
], ids=["scrypt", "pbkdf2", "sha256-of-a-token"])
def test_password_hashes_verify(encoded: str) -> None:
    assert verify_password("s3cret", encoded)
    assert not verify_password("wrong", encoded)


@pytest.mark.parametrize("encoded", ["", "plain", "scrypt$x$8$1$a$b", "md5$abc", "!", "sha256$zz"],
                         ids=["empty", "plain", "bad-number", "unknown-scheme", "disabled",
                              "sha256-not-hex"])
def test_malformed_hashes_never_verify(encoded: str) -> None:
    assert not verify_password("anything", encoded)


@pytest.mark.parametrize("document,message", [
    ([], "must be a JSON object"),
    ({"users": {"a": {}}}, "users.a.password_hash"),
    ({"users": {"a": {"password_hash": "x", "repositories": {"*": ["fly"]}}}},
     "users.a.repositories"),
    ({"public": "library/*"}, "public"),
    ({"challenge": "digest"}, "challenge"),
    ({"token_secret": "short"}, "token_secret"),
], ids=["not-object", "hash", "actions", "public", "challenge", "secret"])
def test_auth_file_errors_name_the_field(document: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        AuthConfig.from_json(document)
    assert message in str(err.value)


def test_tokens_grant_the_intersection_and_cannot_be_forged(tmp_path: Path) -> None:
    authorizer = Authorizer(AuthConfig.load(write_auth_file(tmp_path / "auth.json")))
    issued = authorizer.issue_token("bob", ["repository:team/app:pull,push",
                                            "repository:secret/x:pull"])
    identity = authorizer.authenticate(f"Bearer {issued['token']}")
    assert identity.user == "bob" and identity.granted == {"team/app": frozenset({"pull"})}
    assert authorizer.allowed(identity, "team/app", "pull")
    assert not authorizer.allowed(identity, "team/app", "push")
    body, _, signature = issued["token"].partition(".")
    forged_payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged_payload["access"][0]["actions"] = ["pull", "push"]
    forged = base64.urlsafe_b64encode(json.dumps(forged_payload).encode()).rstrip(b"=").decode()
    with pytest.raises(RegistryError) as err:
        authorizer.authenticate(f"Bearer {forged}.{signature}")
    assert err.value.code == "UNAUTHORIZED"


def test_expired_token_is_unauthorized(tmp_path: Path) -> None:
    config = AuthConfig.load(write_auth_file(tmp_path / "auth.json", token_ttl=1))
    now = [1_000_000.0]
    authorizer = Authorizer(config, clock=lambda: now[0])
    token = authorizer.issue_token("alice", ["repository:team/app:pull"])["token"]
    now[0] += 1.1  # past the token's one-second lifetime
    with pytest.raises(RegistryError) as err:
        Authorizer(config, clock=lambda: now[0]).authenticate(f"Bearer {token}")
    assert err.value.code == "UNAUTHORIZED" and "expired" in err.value.message


# ---------------------------------------------------------------------------------------------
# Over HTTP


def test_anonymous_gets_a_bearer_challenge(secured: RegistryServer, anonymous: Client) -> None:
    reply = anonymous.request("GET", "/v2/")
    assert reply.status == 401 and reply.error_code() == "UNAUTHORIZED"
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer realm="http://127.0.0.1:{secured.port}/token",service="skiff-registry"')
    pull = anonymous.request("GET", "/v2/team/app/manifests/latest")
    assert pull.status == 401
    assert 'scope="repository:team/app:pull"' in pull.headers["WWW-Authenticate"]
    push = anonymous.request("POST", "/v2/team/app/blobs/uploads/")
    assert 'scope="repository:team/app:pull,push"' in push.headers["WWW-Authenticate"]


def test_token_flow_push_and_pull(anonymous: Client) -> None:
    token = token_for(anonymous, "repository:team/app:pull,push", "alice")
    anonymous.headers = bearer(token)
    assert anonymous.request("GET", "/v2/").status == 200
    image = make_image("token flow")
    assert push_image(anonymous, "team/app", "v1", image).status == 201
    verify_pullable(anonymous, "team/app", "v1")
    # The token is for team/app only.
    other = anonymous.request("GET", "/v2/team/other/tags/list")
    assert other.status == 401 and "team/other" in other.headers["WWW-Authenticate"]


def test_pull_only_token_pushing_is_asked_to_reauthenticate(anonymous: Client) -> None:
    anonymous.headers = bearer(token_for(anonymous, "repository:team/app:pull", "alice"))
    reply = anonymous.request("POST", "/v2/team/app/blobs/uploads/")
    # alice may push: a 401 makes Docker fetch a token with the wider scope.
    assert reply.status == 401
    assert 'scope="repository:team/app:pull,push"' in reply.headers["WWW-Authenticate"]


def test_basic_auth_and_denied(anonymous: Client) -> None:
    anonymous.headers = basic("alice")
    assert push_image(anonymous, "team/app", "v1", make_image("basic")).status == 201
    anonymous.headers = basic("bob")
    assert anonymous.request("GET", "/v2/team/app/manifests/v1").status == 200
    refused = anonymous.request("POST", "/v2/team/app/blobs/uploads/")
    assert refused.status == 403 and refused.error_code() == "DENIED"
    not_his = anonymous.request("GET", "/v2/shared/x/tags/list")
    assert not_his.status == 403 and not_his.error_code() == "DENIED"
    delete = anonymous.request("DELETE", "/v2/team/app/manifests/v1")
    assert delete.status == 403
    # A pull-only token is DENIED, not challenged, when the user lacks the right anyway.
    anonymous.headers = bearer(token_for(anonymous, "repository:team/app:pull,push", "bob"))
    assert anonymous.request("POST", "/v2/team/app/blobs/uploads/").status == 403


@pytest.mark.parametrize("header", [
    basic("alice", "wrong"), basic("nobody", "x"), {"Authorization": "Basic !!!"},
    {"Authorization": "Bearer not.a.token"}, {"Authorization": "Digest abc"},
], ids=["wrong-password", "unknown-user", "malformed-basic", "bad-token", "scheme"])
def test_wrong_credentials_are_unauthorized(anonymous: Client, header: dict[str, str]) -> None:
    reply = anonymous.request("GET", "/v2/", headers=header)
    assert reply.status == 401 and reply.error_code() == "UNAUTHORIZED"
    assert "WWW-Authenticate" in reply.headers


def test_token_endpoint_refuses_wrong_password(anonymous: Client) -> None:
    reply = anonymous.request("GET", "/token?scope=repository:team/app:pull",
                              headers=basic("alice", "wrong"))
    assert reply.status == 401 and reply.error_code() == "UNAUTHORIZED"


def test_oauth_password_grant(anonymous: Client) -> None:
    form = "grant_type=password&username=alice&password=alice-secret&service=skiff-registry" \
           "&scope=repository%3Ateam%2Fapp%3Apull"
    reply = anonymous.request("POST", "/token", form.encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200
    anonymous.headers = bearer(reply.json()["access_token"])
    assert anonymous.request("GET", "/v2/team/app/tags/list").status == 404  # allowed, absent


def test_public_repositories_are_pullable_anonymously(secured: RegistryServer,
                                                      anonymous: Client) -> None:
    writer = Client(secured.port)
    writer.headers = basic("alice")
    AdminClient(secured.url, "alice", PASSWORDS["alice"]).create_repository("team/open",
                                                                           public=True)
    for name in ("team/open", "team/closed"):
        assert push_image(writer, name, "v1", make_image(name)).status == 201
    writer.close()
    # Directly, without any token (the repository is public) ...
    verify_pullable(anonymous, "team/open", "v1")
    # ... and through Docker's flow: an anonymous token for a public pull.
    anonymous.headers = bearer(token_for(anonymous, "repository:team/open:pull,push"))
    verify_pullable(anonymous, "team/open", "v1")
    assert anonymous.request("POST", "/v2/team/open/blobs/uploads/").status == 401
    assert anonymous.request("GET", "/v2/team/closed/manifests/v1").status == 401
    # The auth file's public patterns work the same way (nothing there yet: 404, not 401).
    anonymous.headers = {}
    assert anonymous.request("GET", "/v2/library/busybox/manifests/v1").status == 404


def test_catalog_and_admin_api_are_filtered_by_rights(secured: RegistryServer,
                                                      anonymous: Client) -> None:
    anonymous.headers = basic("alice")
    for name in ("team/a", "shared/b"):
        anonymous.push_blob(name, b"x")
    assert anonymous.request("GET", "/v2/_catalog").json()["repositories"] == ["shared/b",
                                                                              "team/a"]
    anonymous.headers = basic("bob")
    assert anonymous.request("GET", "/v2/_catalog").json()["repositories"] == ["team/a"]
    bob = AdminClient(secured.url, "bob", PASSWORDS["bob"])
    assert [r["name"] for r in bob.list_repositories()] == ["team/a"]
    with pytest.raises(RegistryError) as err:
        bob.create_repository("team/new")
    assert err.value.code == "DENIED"
    with pytest.raises(RegistryError) as err:
        bob.delete_repository("team/a", force=True)
    assert err.value.code == "DENIED"
    with pytest.raises(RegistryError) as err:
        AdminClient(secured.url).list_repositories()
    assert err.value.code == "UNAUTHORIZED"
    with pytest.raises(RegistryError) as err:
        AdminClient(secured.url, "bob", "wrong").list_repositories()
    assert err.value.code == "UNAUTHORIZED"


def test_mount_needs_pull_on_the_source(anonymous: Client) -> None:
    anonymous.headers = basic("alice")
    digest = anonymous.push_blob("team/a", b"team layer")
    mounted = anonymous.request("POST", f"/v2/shared/x/blobs/uploads/?mount={digest}&from=team/a")
    assert mounted.status == 201
    # Without `from`, nothing is mounted on a registry that checks access.
    assert anonymous.request("POST", f"/v2/shared/y/blobs/uploads/?mount={digest}").status == 202
    anonymous.headers = basic("agent")  # may pull everything but push nothing
    assert anonymous.request("POST", "/v2/team/a/blobs/uploads/").status == 403


def test_agent_credentials_pull_everything(secured: RegistryServer, anonymous: Client) -> None:
    anonymous.headers = basic("alice")
    push_image(anonymous, "team/app", "v1", make_image("for the agent"))
    agent = Client(secured.port)
    agent.headers = basic("agent")
    verify_pullable(agent, "team/app", "v1")
    agent.close()


# ---------------------------------------------------------------------------------------------
# TLS


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed; cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return cert, key


def test_tls_with_a_certificate_file(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with RegistryServer(tmp_path / "registry", port=0, tls_cert=cert, tls_key=key) as server:
        assert server.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        client = Client(server.port, tls=context)
        assert client.request("GET", "/v2/").status == 200
        image = make_image("over tls", (200_000,))
        assert push_image(client, "secure/app", "v1", image).status == 201
        verify_pullable(client, "secure/app", "v1")  # blobs through the TLS send path
        client.close()
        assert AdminClient(server.url, ca_file=str(cert)).list_repositories()[0]["name"] == \
            "secure/app"
        untrusted = Client(server.port, tls=ssl.create_default_context())
        with pytest.raises(ssl.SSLError):
            untrusted.request("GET", "/v2/")
        plain = Client(server.port)
        with pytest.raises((OSError, http.client.HTTPException)):  # TLS bytes, not HTTP
            plain.request("GET", "/v2/")
    with pytest.raises(ValueError):
        RegistryServer(tmp_path / "x", port=0, tls_cert=cert)


def test_token_with_repeated_scopes_covers_each_repository(anonymous: Client) -> None:
    # A cross-repository mount: Docker asks for both repositories in one token request.
    reply = anonymous.request("GET", "/token?service=skiff-registry"
                                     "&scope=repository:team/a:pull"
                                     "&scope=repository:shared/x:pull,push", headers=basic("alice"))
    payload = reply.json()["token"].split(".")[0]
    access = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["access"]
    assert access == [{"type": "repository", "name": "shared/x", "actions": ["pull", "push"]},
                      {"type": "repository", "name": "team/a", "actions": ["pull"]}]


def test_the_log_says_whether_the_registry_is_open(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="skiff.registry"):
        with RegistryServer(tmp_path / "open", port=0):
            pass
        with RegistryServer(tmp_path / "closed", port=0,
                            auth_file=write_auth_file(tmp_path / "auth.json")):
            pass
    open_lines = [r for r in caplog.records if "OPEN" in r.getMessage()]
    assert len(open_lines) == 1 and open_lines[0].levelname == "WARNING"
    assert "anyone who can reach this port can push and pull" in open_lines[0].getMessage()
    assert any("auth from" in r.getMessage() and "3 users" in r.getMessage()
               for r in caplog.records)


# ---------------------------------------------------------------------------------------------
# The auth file changing under a running registry (another process keeps its users)


def rewrite(path: Path, document: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document))
    tmp.replace(path)


def test_a_changed_auth_file_applies_without_a_restart(tmp_path: Path) -> None:
    path = write_auth_file(tmp_path / "auth.json")
    authorizer = Authorizer.from_file(path)
    issued = authorizer.issue_token("bob", ["repository:team/app:pull"])["token"]
    assert authorizer.authenticate(basic("bob")["Authorization"]).user == "bob"  # now cached
    document = json.loads(path.read_text())
    document["users"]["bob"]["password_hash"] = hash_password("bob-rotated")
    document["users"]["carol"] = {"password_hash": hash_password("carol-secret"),
                                  "repositories": {"*": ["pull"]}}
    rewrite(path, document)
    assert authorizer.reload_if_changed(force=True)
    for old in (basic("bob"), {"Authorization": f"Bearer {issued}"}):
        with pytest.raises(RegistryError) as err:
            authorizer.authenticate(old["Authorization"])
        assert err.value.code == "UNAUTHORIZED"
    assert authorizer.authenticate(basic("bob", "bob-rotated")["Authorization"]).user == "bob"
    assert authorizer.authenticate(basic("carol", "carol-secret")["Authorization"]).user == "carol"
    assert not authorizer.reload_if_changed(force=True)  # unchanged: nothing read


def test_an_invalid_new_auth_file_keeps_the_previous_one(tmp_path: Path) -> None:
    path = write_auth_file(tmp_path / "auth.json")
    authorizer = Authorizer.from_file(path)
    path.write_text("{not json")
    assert not authorizer.reload_if_changed(force=True)
    assert authorizer.authenticate(basic("alice")["Authorization"]).user == "alice"


def test_tokens_signed_with_the_secret_elsewhere_are_accepted(tmp_path: Path) -> None:
    """Whoever holds token_secret mints tokens in the documented format (a control plane does
    for its agents, for a user whose hash matches no password)."""
    import hashlib
    import hmac
    import time

    path = write_auth_file(tmp_path / "auth.json")
    document = json.loads(path.read_text())
    document["users"]["@agents"] = {"password_hash": "!", "repositories": {"*": ["pull"]}}
    rewrite(path, document)
    authorizer = Authorizer.from_file(path)
    payload = {"sub": "@agents", "aud": "skiff-registry", "iat": int(time.time()),
               "exp": int(time.time()) + 60,
               "access": [{"type": "repository", "name": "team/app", "actions": ["pull"]}]}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    signature = hmac.new(b"a-test-secret-of-some-length", body, hashlib.sha256).digest()
    token = (body + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    identity = authorizer.authenticate(f"Bearer {token}")
    assert authorizer.allowed(identity, "team/app", "pull")
    assert not authorizer.allowed(identity, "team/other", "pull")
    assert not authorizer.allowed(identity, "team/app", "push")
    with pytest.raises(RegistryError):
        authorizer.check_password("@agents", "!")
