"""ECR-style repositories: create/list/delete, tag immutability, image listing, the admin API and
the `skiff repo` / `skiff image` / `skiff registry gc` commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import click
import pytest
from click.testing import CliRunner

from registry.auth import AuthConfig, verify_password
from registry.client import AdminClient, RegistryUnavailable
from registry.errors import RegistryError
from registry.server import RegistryServer
from registry.storage import Storage
from skiff.registry_commands import add_registry_commands
from skiffharness.processes import free_port, port_open, wait_until
from tests.registry.helpers import (
    OCI_INDEX, OCI_MANIFEST, Client, Image, index_manifest, make_image, push_image, sha256)
from tests.registry.test_auth import basic, write_auth_file


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "data")


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def root() -> None:
        pass

    @root.group()
    def registry() -> None:
        pass

    add_registry_commands(root, registry)
    return root


def run(cli: click.Group, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------------------------
# Storage


def test_create_list_delete_nested_repositories(storage: Storage) -> None:
    info = storage.create_repository("team/app", immutable=True)
    assert (info.name, info.immutable, info.public) == ("team/app", True, False)
    storage.create_repository("team/app/web", public=True)
    storage.repository("other").put_blob(sha256(b"x"), [b"x"])  # created by a first push
    assert storage.repositories() == ["other", "team/app", "team/app/web"]
    assert storage.repository("other").info().immutable is False
    with pytest.raises(RegistryError) as err:
        storage.create_repository("other")
    assert err.value.code == "REPOSITORY_EXISTS"

    storage.delete_repository("team/app")
    # The nested repository below it is another repository and stays.
    assert storage.repositories() == ["other", "team/app/web"]
    assert storage.repository("team/app/web").info().public is True
    with pytest.raises(RegistryError) as err:
        storage.delete_repository("team/app")
    assert err.value.code == "NAME_UNKNOWN"


def test_non_empty_repository_needs_force(storage: Storage) -> None:
    image = make_image("x")
    repository = storage.repository("app")
    for blob in image.blobs:
        repository.put_blob(sha256(blob), [blob])
    repository.put_manifest("v1", image.manifest, OCI_MANIFEST)
    with pytest.raises(RegistryError) as err:
        storage.delete_repository("app")
    assert err.value.code == "REPOSITORY_NOT_EMPTY"
    storage.delete_repository("app", force=True)
    assert storage.repositories() == [] and not repository.exists()


@pytest.mark.parametrize("name", ["../etc", "/abs", "a//b", "Upper", "a/../b", "_layers", ".x",
                                  "a/_manifests", ""])
def test_bad_names_touch_no_file(storage: Storage, name: str) -> None:
    for call in (lambda: storage.create_repository(name), lambda: storage.repository(name)):
        with pytest.raises(RegistryError) as err:
            call()
        assert err.value.code == "NAME_INVALID"
    assert not (storage.root / "repositories").exists()


def test_immutable_tags(storage: Storage) -> None:
    storage.create_repository("app", immutable=True)
    repository = storage.repository("app")
    first, second = make_image("first"), make_image("second")
    for image in (first, second):
        for blob in image.blobs:
            repository.put_blob(sha256(blob), [blob])
    repository.put_manifest("v1", first.manifest, OCI_MANIFEST)
    repository.put_manifest("v1", first.manifest, OCI_MANIFEST)  # the same image again: fine
    with pytest.raises(RegistryError) as err:
        repository.put_manifest("v1", second.manifest, OCI_MANIFEST)
    assert err.value.code == "DENIED" and err.value.status == 403
    assert "immutable" in err.value.message and "v1" in err.value.message
    assert str(repository.resolve("v1")) == first.digest
    repository.put_manifest("v2", second.manifest, OCI_MANIFEST)  # new tags are fine
    repository.put_manifest(second.digest, second.manifest, OCI_MANIFEST)  # by digest too


def test_immutable_tag_race_has_one_winner(storage: Storage) -> None:
    storage.create_repository("app", immutable=True)
    repository = storage.repository("app")
    images = [make_image(f"racer {i}") for i in range(8)]
    for image in images:
        for blob in image.blobs:
            repository.put_blob(sha256(blob), [blob])
    barrier = threading.Barrier(len(images))
    results: list[str] = []

    def racer(image: Image) -> None:
        barrier.wait()
        try:
            repository.put_manifest("race", image.manifest, OCI_MANIFEST)
            results.append("won")
        except RegistryError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=racer, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["DENIED"] * 7 + ["won"]
    assert str(repository.resolve("race")) in {image.digest for image in images}


def test_images_list_tags_sizes_push_times(storage: Storage) -> None:
    repository = storage.repository("app")
    old, new = make_image("old", (1000, 3000)), make_image("new", (500,))
    for image, tags in ((old, ["v1", "stable"]), (new, ["v2"])):
        for blob in image.blobs:
            repository.put_blob(sha256(blob), [blob])
        for tag in tags:
            repository.put_manifest(tag, image.manifest, OCI_MANIFEST)
    index = index_manifest([(new.manifest, OCI_MANIFEST, None)])
    repository.put_manifest(sha256(index), index, OCI_INDEX)
    images = repository.images()
    assert [i.digest for i in images] == [sha256(index), new.digest, old.digest]  # newest first
    assert images[2].tags == ["stable", "v1"] and images[0].tags == []
    assert images[2].image_size == len(old.config) + 4000
    assert images[0].children == [new.digest]
    assert images[2].pushed_at < images[1].pushed_at < images[0].pushed_at


def test_settings_survive_a_new_storage_instance(storage: Storage) -> None:
    storage.create_repository("app")
    storage.repository("app").update(immutable=True, public=True)
    again = Storage(storage.root)
    assert again.repository("app").info().immutable is True
    assert again.repository("app").info().public is True


# ---------------------------------------------------------------------------------------------
# Admin API and CLI against a live registry


@pytest.fixture
def live(tmp_path: Path) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path / "registry", port=0) as server:
        yield server


def test_admin_client_round_trip(live: RegistryServer) -> None:
    client = AdminClient(live.url)
    created = client.create_repository("team/app", immutable=True)
    assert created["name"] == "team/app" and created["immutable"] is True
    with pytest.raises(RegistryError) as err:
        client.create_repository("team/app")
    assert err.value.code == "REPOSITORY_EXISTS" and err.value.status == 409
    with pytest.raises(RegistryError) as err:
        client.create_repository("Bad/Name")
    assert err.value.code == "NAME_INVALID"
    assert [r["name"] for r in client.list_repositories()] == ["team/app"]
    assert client.update_repository("team/app", public=True)["public"] is True
    with pytest.raises(RegistryError) as err:
        client.images("nobody")
    assert err.value.code == "NAME_UNKNOWN"
    client.delete_repository("team/app")
    assert client.list_repositories() == []
    with pytest.raises(RegistryUnavailable):
        AdminClient("http://127.0.0.1:1", timeout=2).list_repositories()


def test_push_to_immutable_repository_is_refused_over_http(live: RegistryServer) -> None:
    AdminClient(live.url).create_repository("locked", immutable=True)
    http = Client(live.port)
    assert push_image(http, "locked", "v1", make_image("one")).status == 201
    refused = push_image(http, "locked", "v1", make_image("two"))
    assert refused.status == 403 and refused.error_code() == "DENIED"
    assert "immutable" in refused.json()["errors"][0]["message"]
    assert http.request("GET", "/v2/locked/manifests/v1").body == make_image("one").manifest
    http.close()


def test_cli_repo_and_image_commands(live: RegistryServer, cli: click.Group) -> None:
    url = ["--registry", live.url]
    assert "created team/app (immutable, public)" in run(
        cli, "repo", "create", "team/app", "--immutable", "--public", *url)
    http = Client(live.port)
    image = make_image("cli", (2048, 1024))
    push_image(http, "team/app", "v1", image)
    push_image(http, "other", "latest", make_image("other"))

    listing = run(cli, "repo", "ls", *url)
    lines = listing.splitlines()
    assert lines[0].split() == ["NAME", "IMMUTABLE", "PUBLIC", "IMAGES", "TAGS", "CREATED"]
    assert lines[1].split()[:5] == ["other", "no", "no", "1", "1"]
    assert lines[2].split()[:5] == ["team/app", "yes", "yes", "1", "1"]

    images = run(cli, "image", "ls", "team/app", *url).splitlines()
    assert images[0].split() == ["TAGS", "DIGEST", "SIZE", "PUSHED", "TYPE"]
    assert images[1].startswith("v1") and image.digest[:19] in images[1]
    details = json.loads(run(cli, "image", "ls", "team/app", "--json", *url))["imageDetails"]
    assert details[0]["imageDigest"] == image.digest
    assert details[0]["imageSizeInBytes"] == len(image.config) + 3072

    failed = CliRunner().invoke(cli, ["repo", "create", "team/app", *url])
    assert failed.exit_code == 1 and "REPOSITORY_EXISTS" in failed.output
    failed = CliRunner().invoke(cli, ["repo", "rm", "team/app", *url])
    assert failed.exit_code == 1 and "REPOSITORY_NOT_EMPTY" in failed.output
    assert "deleted team/app" in run(cli, "repo", "rm", "team/app", "--force", *url)
    assert [r["name"] for r in AdminClient(live.url).list_repositories()] == ["other"]
    http.close()


def test_cli_lifecycle_dry_run_then_apply(live: RegistryServer, cli: click.Group) -> None:
    url = ["--registry", live.url]
    http = Client(live.port)
    digests = []
    for n in range(4):
        image = make_image(f"lc {n}")
        push_image(http, "app", f"build-{n}", image)
        digests.append(image.digest)
    http.put_manifest("app", "keep-me", make_image("other").manifest)  # blobs missing: refused

    preview = run(cli, "repo", "lifecycle", "set", "app", "--keep-newest", "2", "--tag-prefix",
                  "build-", "--dry-run", *url)
    assert "2 image(s) would expire" in preview
    assert digests[0] in preview and digests[1] in preview and digests[3] not in preview
    assert len(AdminClient(live.url).images("app")) == 4  # nothing went
    assert json.loads(run(cli, "repo", "lifecycle", "show", "app", *url)) == {"rules": []}

    applied = run(cli, "repo", "lifecycle", "set", "app", "--keep-newest", "2", "--tag-prefix",
                  "build-", *url)
    assert "2 image(s) expired" in applied
    assert {i["imageDigest"] for i in AdminClient(live.url).images("app")} == set(digests[2:])
    stored = json.loads(run(cli, "repo", "lifecycle", "show", "app", *url))["rules"]
    assert stored[0]["selection"]["tagPrefixList"] == ["build-"]
    assert "0 image(s) would expire" in run(cli, "repo", "lifecycle", "run", "app", "--dry-run",
                                            *url)
    bad = CliRunner().invoke(cli, ["repo", "lifecycle", "set", "app", "--tag-prefix", "x", *url])
    assert bad.exit_code != 0 and "--keep-newest" in bad.output
    http.close()


def test_cli_gc_on_the_data_directory(live: RegistryServer, cli: click.Group) -> None:
    http = Client(live.port)
    push_image(http, "app", "v1", make_image("kept"))
    orphan = http.push_blob("app", b"orphan blob")
    http.close()
    dry = run(cli, "registry", "gc", "--data", str(live.data_dir), "--dry-run", "--min-age", "0")
    assert f"would delete {orphan}" in dry
    assert (live.data_dir / "blobs" / "sha256" / orphan[7:9] / orphan[7:]).exists()
    report = json.loads(run(cli, "registry", "gc", "--data", str(live.data_dir), "--min-age",
                            "0s", "--json"))
    assert [d["digest"] for d in report["deleted"]] == [orphan]
    assert report["inUse"] == 4  # manifest, config, two layers
    assert not (live.data_dir / "blobs" / "sha256" / orphan[7:9] / orphan[7:]).exists()
    bad = CliRunner().invoke(cli, ["registry", "gc", "--data", str(live.data_dir / "nope")])
    assert bad.exit_code == 1 and "not a registry data directory" in bad.output


def test_registry_serve_command_with_auth_file_and_sigterm(tmp_path: Path,
                                                          cli: click.Group) -> None:
    """`skiff registry serve` as the lead wires it: options reach the server, SIGTERM stops it."""
    wrapper = ("import click\nfrom skiff.registry_commands import add_registry_commands\n"
               "@click.group()\ndef cli(): pass\n@cli.group()\ndef registry(): pass\n"
               "add_registry_commands(cli, registry)\ncli()\n")
    auth = write_auth_file(tmp_path / "auth.json")
    log = tmp_path / "serve.log"
    for _ in range(5):  # another process on this machine may take the free port first
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-c", wrapper, "registry", "serve", "--port", str(port), "--data",
             str(tmp_path / "data"), "--auth-file", str(auth), "--purge-uploads-after", "30m"],
            cwd=Path(__file__).resolve().parents[2], stdout=open(log, "ab"),
            stderr=subprocess.STDOUT)
        wait_until(lambda process=process, port=port:
                   process.poll() is not None or port_open("127.0.0.1", port), 60,
                   message="skiff registry serve")
        if process.poll() is None:
            break
    try:
        client = Client(port)
        assert client.request("GET", "/v2/").status == 401
        assert client.request("GET", "/v2/", headers=basic("alice")).status == 200
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert "auth from" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    bad = CliRunner().invoke(cli, ["registry", "serve", "--tls-cert", str(auth), "--data",
                                   str(tmp_path / "x")])
    assert bad.exit_code != 0 and "--tls-key" in bad.output


def test_add_registry_commands_replaces_serve_and_merges_groups() -> None:
    @click.group()
    def root() -> None:
        pass

    @root.group()
    def registry() -> None:
        pass

    @registry.command("serve")
    def minimal_serve() -> None:
        pass

    @root.group("image")
    def existing_image() -> None:
        pass

    @existing_image.command("rm")
    def image_rm() -> None:
        pass

    add_registry_commands(root, registry)
    assert registry.commands["serve"].params[0].name == "host"
    assert {"serve", "gc", "hash-password", "user-add"} <= set(registry.commands)
    assert root.commands["image"] is existing_image
    assert set(existing_image.commands) == {"rm", "ls"}
    assert set(root.commands["repo"].commands) == {"create", "ls", "rm", "lifecycle"}


def test_user_add_and_hash_password_commands(tmp_path: Path, cli: click.Group) -> None:
    auth = tmp_path / "auth.json"
    for user, rule in (("alice", "team/*=pull,push"), ("agent", "*=pull")):
        result = CliRunner().invoke(cli, ["registry", "user-add", user, "--auth-file", str(auth),
                                          "--allow", rule, "--password-stdin"],
                                    input=f"{user}-password\n")
        assert result.exit_code == 0, result.output
    config = AuthConfig.load(auth)
    assert set(config.users) == {"alice", "agent"}
    assert verify_password("alice-password", config.users["alice"].password_hash)
    assert config.users["alice"].actions("team/app") == {"pull", "push"}
    assert config.users["agent"].actions("any/thing") == {"pull"}
    assert auth.stat().st_mode & 0o077 == 0  # holds password hashes: owner only
    bad = CliRunner().invoke(cli, ["registry", "user-add", "x", "--auth-file", str(auth),
                                   "--allow", "team/*=fly", "--password-stdin"], input="pw\n")
    assert bad.exit_code != 0 and "PATTERN=ACTIONS" in bad.output
    hashed = CliRunner().invoke(cli, ["registry", "hash-password", "--password-stdin"],
                                input="s3cret\n")
    assert hashed.exit_code == 0 and verify_password("s3cret", hashed.output.strip())
