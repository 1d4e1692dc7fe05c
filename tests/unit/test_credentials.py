"""Registry credentials in docker config.json form."""

from __future__ import annotations

import base64
import json

import pytest

from agent.credentials import RegistryCredentials, registry_host


@pytest.mark.parametrize("image, host", [
    ("127.0.0.1:5000/app:1", "127.0.0.1:5000"),
    ("registry.lab/team/app", "registry.lab"),
    ("localhost/app", "localhost"),
    ("busybox", "docker.io"),
    ("library/busybox:1", "docker.io"),
], ids=["ip-port", "dotted-host", "localhost", "bare", "docker-hub-path"])
def test_registry_host(image, host):
    assert registry_host(image) == host


def test_load_docker_login_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {
        "127.0.0.1:5000": {"auth": base64.b64encode(b"agent:s3cret:x").decode()},
        "https://registry.lab/": {"username": "u", "password": "p"}}}))
    credentials = RegistryCredentials.load(path)
    assert credentials.for_image("127.0.0.1:5000/app:1") == {"username": "agent",
                                                             "password": "s3cret:x"}
    assert credentials.for_image("registry.lab/app") == {"username": "u", "password": "p"}
    assert credentials.for_image("elsewhere.io/app") is None


def test_malformed_auth_names_the_entry(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": "%%%"}}}))
    with pytest.raises(ValueError, match=r"auths\.127\.0\.0\.1:5000\.auth"):
        RegistryCredentials.load(path)


def test_docker_hub_login_applies_to_hub_images(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {
        "auth": base64.b64encode(b"me:pw").decode()}}}))
    assert RegistryCredentials.load(path).for_image("library/busybox:1") == {
        "username": "me", "password": "pw"}


@pytest.mark.parametrize("document, message", [
    ([], "expected an object"),
    ({"auths": ["127.0.0.1:5000"]}, "expected an object"),
    ({"auths": {"127.0.0.1:5000": "x"}}, r"auths\.127\.0\.0\.1:5000 must be an object"),
], ids=["top-level-list", "auths-list", "entry-not-object"])
def test_malformed_file_is_a_value_error(tmp_path, document, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=message):
        RegistryCredentials.load(path)
