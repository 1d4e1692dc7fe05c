"""Unit tests of the registry's storage: no HTTP, no server, a temp data directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import pytest

from registry.errors import RegistryError
from registry.storage import (
    DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Digest, Storage, parse_reference, validate_name,
    validate_tag)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def files_under(path: Path) -> list[str]:
    """Every regular file below `path`, relative, sorted (to assert what became visible)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def interrupted(*chunks: bytes) -> Iterator[bytes]:
    """A body that yields `chunks` and then fails, like a client that hangs up mid-upload."""
    yield from chunks
    raise ConnectionResetError("client went away")


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(tmp_path / "data")


def push_blob(storage: Storage, name: str, data: bytes) -> str:
    digest = sha256(data)
    storage.repository(name).put_blob(digest, [data])
    return digest


def image_manifest(config: str, layers: list[str], media_type: str | None = OCI_MANIFEST) -> bytes:
    document: dict = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                   "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": 1}
                   for d in layers],
    }
    if media_type is not None:
        document["mediaType"] = media_type
    return json.dumps(document).encode()


# ---------------------------------------------------------------------------------------------
# Blobs: verified, atomic


def test_blob_is_visible_after_verified_put(storage: Storage) -> None:
    repo = storage.repository("team/app")
    data = b"layer bytes" * 1000
    info = repo.put_blob(sha256(data), [data[:5000], data[5000:]], expected_size=len(data))
    assert (str(info.digest), info.size) == (sha256(data), len(data))
    file, stat = repo.open_blob(sha256(data))
    with file:
        assert file.read() == data
    assert stat == info
    assert files_under(storage.root / "uploads") == []


def test_wrong_digest_is_rejected_and_nothing_is_visible(storage: Storage) -> None:
    repo = storage.repository("app")
    data = b"real content"
    claimed = sha256(b"other content")
    with pytest.raises(RegistryError) as err:
        repo.put_blob(claimed, [data])
    assert err.value.code == "DIGEST_INVALID"
    assert not repo.has_blob(claimed) and not repo.has_blob(sha256(data))
    assert files_under(storage.root / "blobs") == []
    assert files_under(storage.root / "uploads") == []


def test_size_mismatch_is_rejected_and_nothing_is_visible(storage: Storage) -> None:
    repo = storage.repository("app")
    data = b"twelve bytes"
    with pytest.raises(RegistryError) as err:
        repo.put_blob(sha256(data), [data], expected_size=len(data) + 1)
    assert err.value.code == "SIZE_INVALID"
    assert not repo.has_blob(sha256(data))
    assert files_under(storage.root / "blobs") == []


def test_aborted_monolithic_upload_leaves_no_partial_blob(storage: Storage) -> None:
    repo = storage.repository("app")
    data = b"a" * 100 + b"b" * 100
    with pytest.raises(ConnectionResetError):
        repo.put_blob(sha256(data), interrupted(data[:100]))
    assert not repo.has_blob(sha256(data))
    assert files_under(storage.root / "blobs") == []
    assert storage.uploads.list() == []  # nobody can resume it, so it is gone


def test_interrupted_session_keeps_its_offset_and_can_resume(storage: Storage) -> None:
    repo = storage.repository("app")
    data = b"0123456789" * 50
    session = repo.start_upload()
    with pytest.raises(ConnectionResetError):
        repo.append_upload(session.id, interrupted(data[:120], data[120:200]))
    assert repo.get_upload(session.id).offset == 200
    assert files_under(storage.root / "blobs") == []

    repo.append_upload(session.id, [data[200:]])
    info = repo.complete_upload(session.id, sha256(data))
    assert info.size == len(data)
    file, _ = repo.open_blob(sha256(data))
    with file:
        assert file.read() == data


def test_chunked_session_offsets_and_sha512(storage: Storage) -> None:
    repo = storage.repository("app")
    data = b"x" * 3000
    session = repo.start_upload()
    assert session.offset == 0
    assert repo.append_upload(session.id, [data[:1000]]).offset == 1000
    assert repo.append_upload(session.id, [data[1000:2000]]).offset == 2000
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    assert repo.complete_upload(session.id, digest, [data[2000:]]).size == 3000
    assert repo.stat_blob(digest).size == 3000
    with pytest.raises(RegistryError) as err:
        repo.get_upload(session.id)
    assert err.value.code == "BLOB_UPLOAD_UNKNOWN"


def test_failed_completion_discards_the_session(storage: Storage) -> None:
    repo = storage.repository("app")
    session = repo.start_upload()
    repo.append_upload(session.id, [b"data"])
    with pytest.raises(RegistryError) as err:
        repo.complete_upload(session.id, sha256(b"something else"))
    assert err.value.code == "DIGEST_INVALID"
    assert storage.uploads.list() == []
    assert files_under(storage.root / "blobs") == []


def test_upload_sessions_belong_to_their_repository(storage: Storage) -> None:
    session = storage.repository("a").start_upload()
    with pytest.raises(RegistryError) as err:
        storage.repository("b").get_upload(session.id)
    assert err.value.code == "BLOB_UPLOAD_UNKNOWN"
    assert storage.repository("a").get_upload(session.id).repository == "a"


@pytest.mark.parametrize("upload_id", ["../../etc", "not-a-uuid", "", "A" * 36],
                         ids=["traversal", "garbage", "empty", "uppercase"])
def test_malformed_upload_ids_are_unknown(storage: Storage, upload_id: str) -> None:
    with pytest.raises(RegistryError) as err:
        storage.repository("a").get_upload(upload_id)
    assert err.value.code == "BLOB_UPLOAD_UNKNOWN"


def test_blobs_are_per_repository_until_mounted(storage: Storage) -> None:
    digest = push_blob(storage, "source", b"shared layer")
    target = storage.repository("target")
    assert not target.has_blob(digest)
    assert target.mount_blob(digest, storage.repository("elsewhere")) is None
    assert not target.has_blob(digest)
    info = target.mount_blob(digest, storage.repository("source"))
    assert info is not None and info.size == len(b"shared layer")
    assert target.has_blob(digest)
    assert target.mount_blob(sha256(b"never stored"), None) is None


# ---------------------------------------------------------------------------------------------
# Manifests and tags


def test_manifest_round_trip_keeps_exact_bytes(storage: Storage) -> None:
    repo = storage.repository("app")
    config, layer = push_blob(storage, "app", b"{}"), push_blob(storage, "app", b"L")
    body = image_manifest(config, [layer]).replace(b", ", b",   ")  # odd spacing is kept
    info = repo.put_manifest("v1", body, OCI_MANIFEST)
    assert str(info.digest) == sha256(body)
    stored, by_tag = repo.get_manifest("v1")
    assert stored == body and by_tag == info
    assert repo.get_manifest(sha256(body))[0] == body
    assert repo.stat_manifest("v1").media_type == OCI_MANIFEST


def test_media_type_comes_from_header_or_manifest(storage: Storage) -> None:
    repo = storage.repository("app")
    config = push_blob(storage, "app", b"{}")
    no_field = image_manifest(config, [], media_type=None)
    assert repo.put_manifest("a", no_field, DOCKER_MANIFEST).media_type == DOCKER_MANIFEST
    # The first push of some bytes decides their type; pushing them again changes nothing.
    assert repo.put_manifest("b", no_field, None).media_type == DOCKER_MANIFEST
    other = storage.repository("other")
    push_blob(storage, "other", b"{}")
    assert other.put_manifest("b", no_field, None).media_type == OCI_MANIFEST
    docker = image_manifest(config, [], media_type=DOCKER_MANIFEST)
    assert repo.put_manifest("c", docker, "application/json").media_type == DOCKER_MANIFEST


def test_manifest_with_missing_blob_is_rejected_and_changes_nothing(storage: Storage) -> None:
    repo = storage.repository("app")
    config = push_blob(storage, "app", b"{}")
    missing = sha256(b"never pushed")
    before = files_under(storage.root)
    with pytest.raises(RegistryError) as err:
        repo.put_manifest("v1", image_manifest(config, [missing]), OCI_MANIFEST)
    assert err.value.code == "MANIFEST_BLOB_UNKNOWN"
    assert missing in err.value.detail["digests"]
    assert files_under(storage.root) == before


def test_blob_in_another_repository_does_not_count(storage: Storage) -> None:
    config = push_blob(storage, "other", b"{}")
    with pytest.raises(RegistryError) as err:
        storage.repository("app").put_manifest("v1", image_manifest(config, []), OCI_MANIFEST)
    assert err.value.code == "MANIFEST_BLOB_UNKNOWN"


def test_index_needs_its_child_manifests(storage: Storage) -> None:
    repo = storage.repository("app")
    child = image_manifest(push_blob(storage, "app", b"{}"), [])
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha256(child), "size": len(child)}]}).encode()
    with pytest.raises(RegistryError) as err:
        repo.put_manifest("multi", index, OCI_INDEX)
    assert err.value.code == "MANIFEST_BLOB_UNKNOWN"
    repo.put_manifest(sha256(child), child, OCI_MANIFEST)
    assert repo.put_manifest("multi", index, OCI_INDEX).media_type == OCI_INDEX


@pytest.mark.parametrize("body,content_type,code", [
    (b"not json", OCI_MANIFEST, "MANIFEST_INVALID"),
    (b"[1, 2]", OCI_MANIFEST, "MANIFEST_INVALID"),
    (b'{"schemaVersion": 1, "config": {}, "layers": []}', OCI_MANIFEST, "MANIFEST_INVALID"),
    (b'{"schemaVersion": 2, "layers": []}', OCI_MANIFEST, "MANIFEST_INVALID"),
    (b'{"schemaVersion": 2, "mediaType": "application/x-other", "layers": []}', None,
     "MANIFEST_INVALID"),
    (image_manifest(sha256(b"{}"), [], media_type=OCI_INDEX), OCI_MANIFEST, "MANIFEST_INVALID"),
    (image_manifest("sha256:nothex", []), OCI_MANIFEST, "DIGEST_INVALID"),
], ids=["not-json", "not-object", "schema-1", "no-config", "unsupported-type",
        "header-vs-field", "bad-descriptor-digest"])
def test_invalid_manifests_are_rejected(storage: Storage, body: bytes, content_type: str | None,
                                        code: str) -> None:
    with pytest.raises(RegistryError) as err:
        storage.repository("app").put_manifest("v1", body, content_type)
    assert err.value.code == code
    assert files_under(storage.root) == []


def test_manifest_put_by_digest_must_match_body(storage: Storage) -> None:
    repo = storage.repository("app")
    body = image_manifest(push_blob(storage, "app", b"{}"), [])
    with pytest.raises(RegistryError) as err:
        repo.put_manifest(sha256(b"different"), body, OCI_MANIFEST)
    assert err.value.code == "DIGEST_INVALID"
    assert str(repo.put_manifest(sha256(body), body, OCI_MANIFEST).digest) == sha256(body)
    assert repo.tags() == []


def test_tags_are_sorted_and_retaggable(storage: Storage) -> None:
    repo = storage.repository("app")
    config = push_blob(storage, "app", b"{}")
    first, second = image_manifest(config, []), image_manifest(config, [], media_type=None)
    for tag in ["b", "a", "10", "2", "B"]:
        repo.put_manifest(tag, first, OCI_MANIFEST)
    repo.put_manifest("a", second, OCI_MANIFEST)
    assert repo.tags() == ["10", "2", "a", "B", "b"]  # case-insensitive, as the spec says
    assert repo.resolve("a") == Digest.parse(sha256(second))


def test_unknown_repository_and_manifest(storage: Storage) -> None:
    with pytest.raises(RegistryError) as err:
        storage.repository("nobody").tags()
    assert err.value.code == "NAME_UNKNOWN"
    with pytest.raises(RegistryError) as err:
        storage.repository("nobody").get_manifest("latest")
    assert err.value.code == "MANIFEST_UNKNOWN"


# ---------------------------------------------------------------------------------------------
# Validation tables


VALID_NAMES = ["a", "app", "team/app/web", "a.b", "a_b", "a__b", "a---b", "0", "x1/y2.z-3"]
INVALID_NAMES = {
    "dotdot": "..",
    "dotdot-inside": "a/../b",
    "absolute": "/abs",
    "upper": "Upper",
    "empty-component": "a//b",
    "trailing-slash": "a/",
    "empty": "",
    "leading-dash": "-a",
    "trailing-sep": "a_",
    "triple-underscore": "a___b",
    "reserved-component": "a/_layers",
    "space": "a b",
    "nul": "a\x00b",
    "too-long": "a" * 256,
}


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", INVALID_NAMES.values(), ids=INVALID_NAMES.keys())
def test_invalid_names_are_rejected_before_touching_disk(storage: Storage, name: str) -> None:
    for attempt in (lambda: storage.repository(name), lambda: storage.uploads.create(name)):
        with pytest.raises(RegistryError) as err:
            attempt()
        assert err.value.code == "NAME_INVALID"
    assert list(storage.root.iterdir()) == []
    assert not Path("/abs").exists()


VALID_TAGS = ["latest", "v1.0", "_x", "A-b_c.d", "1", "a" * 128]
INVALID_TAGS = {"leading-dot": ".hidden", "leading-dash": "-x", "slash": "a/b", "empty": "",
                "too-long": "a" * 129, "colon": "a:b", "space": "a b"}


@pytest.mark.parametrize("tag", VALID_TAGS, ids=lambda t: t[:16])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag
    assert parse_reference(tag) == tag


@pytest.mark.parametrize("tag", INVALID_TAGS.values(), ids=INVALID_TAGS.keys())
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(RegistryError) as err:
        validate_tag(tag)
    assert err.value.code == "MANIFEST_INVALID"


VALID_DIGESTS = {"sha256": "sha256:" + "a" * 64, "sha512": "sha512:" + "0" * 128}
INVALID_DIGESTS = {
    "short": "sha256:abc",
    "long": "sha256:" + "a" * 65,
    "upper-hex": "sha256:" + "A" * 64,
    "unknown-algorithm": "md5:" + "a" * 32,
    "no-colon": "sha256",
    "no-algorithm": ":" + "a" * 64,
    "traversal": "sha256:../../etc/passwd",
    "upper-algorithm": "SHA256:" + "a" * 64,
    "sha512-too-short": "sha512:" + "a" * 64,
    "empty": "",
}


@pytest.mark.parametrize("digest", VALID_DIGESTS.values(), ids=VALID_DIGESTS.keys())
def test_valid_digests(digest: str) -> None:
    assert str(Digest.parse(digest)) == digest
    assert parse_reference(digest) == Digest.parse(digest)


@pytest.mark.parametrize("digest", INVALID_DIGESTS.values(), ids=INVALID_DIGESTS.keys())
def test_invalid_digests(storage: Storage, digest: str) -> None:
    with pytest.raises(RegistryError) as err:
        Digest.parse(digest)
    assert err.value.code == "DIGEST_INVALID" and err.value.status == 400
    with pytest.raises(RegistryError) as err:
        storage.repository("app").stat_blob(digest)
    assert err.value.code == "DIGEST_INVALID"
    assert list(storage.root.iterdir()) == []
