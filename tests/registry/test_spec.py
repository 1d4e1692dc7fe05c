"""The OCI Distribution Spec v1.1 over plain HTTP: one test per MUST (and the SHOULDs we keep).

Each test names the spec's requirement it checks. The older test_http.py covers framing,
malformed digests and names, interrupted uploads and byte ranges.
"""

from __future__ import annotations

import json

import pytest

from registry.server import RegistryServer
from tests.registry.helpers import (
    DOCKER_LIST, DOCKER_MANIFEST, EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, Client,
    descriptor, image_manifest, index_manifest, make_image, push_image, sha256)

# ---------------------------------------------------------------------------------------------
# Base


def test_base_endpoint_is_200_with_api_version_header(http: Client) -> None:
    reply = http.request("GET", "/v2/")
    assert reply.status == 200
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    head = http.request("HEAD", "/v2/")
    assert head.status == 200 and head.body == b""


# ---------------------------------------------------------------------------------------------
# Pull: manifests of every common media type, by tag and by digest


def _oci_image(http: Client, name: str) -> tuple[bytes, str]:
    image = make_image("oci")
    assert push_image(http, name, "oci", image).status == 201
    return image.manifest, OCI_MANIFEST


def _docker_image(http: Client, name: str) -> tuple[bytes, str]:
    image = make_image("docker", media_type=DOCKER_MANIFEST)
    assert push_image(http, name, "docker", image).status == 201
    return image.manifest, DOCKER_MANIFEST


def _oci_index(http: Client, name: str) -> tuple[bytes, str]:
    amd, arm = make_image("amd64"), make_image("arm64")
    for tag, image in (("amd", amd), ("arm", arm)):
        assert push_image(http, name, tag, image).status == 201
    body = index_manifest([(amd.manifest, OCI_MANIFEST, {"os": "linux", "architecture": "amd64"}),
                           (arm.manifest, OCI_MANIFEST, {"os": "linux", "architecture": "arm64"})])
    return body, OCI_INDEX


def _docker_list(http: Client, name: str) -> tuple[bytes, str]:
    child = make_image("list-child", media_type=DOCKER_MANIFEST)
    assert push_image(http, name, "child", child).status == 201
    body = index_manifest([(child.manifest, DOCKER_MANIFEST,
                            {"os": "linux", "architecture": "amd64"})], media_type=DOCKER_LIST)
    return body, DOCKER_LIST


def _artifact(http: Client, name: str) -> tuple[bytes, str]:
    payload = b"sbom contents"
    http.push_blob(name, EMPTY_JSON)
    http.push_blob(name, payload)
    body = image_manifest(EMPTY_JSON, [payload], config_type=OCI_EMPTY,
                          layer_type="application/spdx+json",
                          artifactType="application/vnd.example.sbom.v1")
    return body, OCI_MANIFEST


MANIFEST_KINDS = {"oci-manifest": _oci_image, "docker-manifest": _docker_image,
                  "oci-index": _oci_index, "docker-manifest-list": _docker_list,
                  "artifact": _artifact}


@pytest.mark.parametrize("kind", list(MANIFEST_KINDS))
def test_manifest_pull_by_tag_and_digest_with_headers(http: Client, kind: str) -> None:
    """GET/HEAD MUST return 200 with the manifest; Content-Type as pushed, Docker-Content-Digest
    and Content-Length SHOULD be there; the bytes are exactly those pushed."""
    body, media_type = MANIFEST_KINDS[kind](http, "pull/kinds")
    put = http.put_manifest("pull/kinds", "target", body, media_type)
    assert put.status == 201, put.body
    for reference in ("target", sha256(body)):
        get = http.request("GET", f"/v2/pull/kinds/manifests/{reference}",
                           headers={"Accept": media_type})
        assert get.status == 200 and get.body == body
        assert get.headers["Content-Type"] == media_type
        assert get.headers["Docker-Content-Digest"] == sha256(body)
        assert get.headers["Content-Length"] == str(len(body))
        head = http.request("HEAD", f"/v2/pull/kinds/manifests/{reference}")
        assert head.status == 200 and head.body == b""
        assert head.headers["Content-Type"] == media_type
        assert head.headers["Docker-Content-Digest"] == sha256(body)
        assert head.headers["Content-Length"] == str(len(body))


def test_missing_manifest_and_blob_are_404(http: Client) -> None:
    http.push_blob("app", b"x")
    for method in ("GET", "HEAD"):
        assert http.request(method, "/v2/app/manifests/nope").status == 404
        assert http.request(method, f"/v2/app/manifests/{sha256(b'nope')}").status == 404
        assert http.request(method, f"/v2/app/blobs/{sha256(b'nope')}").status == 404
    assert http.request("GET", "/v2/app/manifests/nope").error_code() == "MANIFEST_UNKNOWN"
    assert http.request("GET", f"/v2/app/blobs/{sha256(b'y')}").error_code() == "BLOB_UNKNOWN"
    unknown_repo = http.request("GET", "/v2/nobody/manifests/latest")
    assert unknown_repo.status == 404


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_manifest_by_a_reference_that_is_no_tag_is_404_on_pull(http: Client, method: str) -> None:
    # No manifest can be stored under such a name, so it is not found (the spec's GET/HEAD
    # answer), not invalid; a HEAD answer has no body, so its code is checked with GET only.
    http.push_blob("app", b"x")
    reply = http.request(method, "/v2/app/manifests/-bad-tag")
    assert reply.status == 404
    if method == "GET":
        assert reply.error_code() == "MANIFEST_UNKNOWN"


def test_manifest_put_by_a_reference_that_is_no_tag_is_400(http: Client) -> None:
    reply = http.request("PUT", "/v2/app/manifests/-bad-tag", b"{}",
                         {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert reply.status == 400 and reply.error_code() == "MANIFEST_INVALID"
    assert http.request("GET", "/v2/app/manifests/-bad-tag").status == 404


def test_blob_pull_get_head_and_range(http: Client) -> None:
    data = bytes(range(256)) * 10
    digest = http.push_blob("app", data)
    get = http.request("GET", f"/v2/app/blobs/{digest}")
    assert get.status == 200 and get.body == data
    assert get.headers["Docker-Content-Digest"] == digest
    assert get.headers["Content-Length"] == str(len(data))
    head = http.request("HEAD", f"/v2/app/blobs/{digest}")
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == "2560"
    part = http.request("GET", f"/v2/app/blobs/{digest}", headers={"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == data[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/2560"
    assert part.headers["Content-Length"] == "100"


def test_blob_of_another_repository_is_not_served(http: Client) -> None:
    digest = http.push_blob("one", b"private to one")
    assert http.request("GET", f"/v2/two/blobs/{digest}").status == 404


# ---------------------------------------------------------------------------------------------
# Push


def test_monolithic_single_post_is_201_with_location(http: Client) -> None:
    data = b"single post"
    reply = http.request("POST", f"/v2/app/blobs/uploads/?digest={sha256(data)}", data,
                         {"Content-Type": "application/octet-stream"})
    assert reply.status == 201
    assert reply.headers["Location"] == f"/v2/app/blobs/{sha256(data)}"
    assert http.request("GET", reply.headers["Location"]).body == data


def test_monolithic_post_with_wrong_length_is_rejected(http: Client, registry: RegistryServer
                                                       ) -> None:
    # Content-Length MUST match: a body shorter than announced never becomes a blob.
    data = b"0123456789"
    reply = http.request("POST", f"/v2/app/blobs/uploads/?digest={sha256(data + b'!')}", data)
    assert reply.status == 400 and reply.error_code() == "DIGEST_INVALID"
    assert http.request("HEAD", f"/v2/app/blobs/{sha256(data)}").status == 404


def test_post_then_put(http: Client) -> None:
    start = http.request("POST", "/v2/app/blobs/uploads/")
    assert start.status == 202
    location = start.headers["Location"]
    assert location.startswith("/v2/app/blobs/uploads/")
    data = b"post then put"
    done = http.request("PUT", f"{location}?digest={sha256(data)}", data,
                        {"Content-Type": "application/octet-stream"})
    assert done.status == 201
    assert done.headers["Location"] == f"/v2/app/blobs/{sha256(data)}"
    assert http.request("GET", done.headers["Location"]).body == data


def test_chunked_upload_in_order_with_ranges_and_final_chunk_in_put(http: Client) -> None:
    data = bytes(range(256)) * 30
    start = http.request("POST", "/v2/app/blobs/uploads/", b"", {"Content-Length": "0"})
    location = start.headers["Location"]
    first = http.request("PATCH", location, data[:3000], {
        "Content-Type": "application/octet-stream", "Content-Range": "0-2999"})
    assert first.status == 202 and first.headers["Range"] == "0-2999"
    assert first.headers["Location"]
    second = http.request("PATCH", first.headers["Location"], data[3000:6000],
                          {"Content-Range": "3000-5999"})
    assert second.status == 202 and second.headers["Range"] == "0-5999"
    done = http.request("PUT", f"{second.headers['Location']}?digest={sha256(data)}",
                        data[6000:], {"Content-Range": f"6000-{len(data) - 1}"})
    assert done.status == 201
    assert http.request("GET", f"/v2/app/blobs/{sha256(data)}").body == data


def test_out_of_order_chunk_is_416_and_get_reports_the_range(http: Client) -> None:
    location = http.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    assert http.request("PATCH", location, b"abcd", {"Content-Range": "0-3"}).status == 202
    again = http.request("PATCH", location, b"abcd", {"Content-Range": "0-3"})
    assert again.status == 416  # retrying the previous chunk
    skipped = http.request("PATCH", location, b"ijkl", {"Content-Range": "8-11"})
    assert skipped.status == 416
    status = http.request("GET", location)
    assert status.status == 204
    assert status.headers["Range"] == "0-3" and status.headers["Location"]


def test_content_range_must_match_the_body(http: Client) -> None:
    location = http.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    reply = http.request("PATCH", location, b"abc", {"Content-Range": "0-9"})
    assert reply.status == 416
    assert http.request("GET", location).headers["Range"] == "0-0"  # nothing was written


def test_cancel_upload_then_it_is_unknown(http: Client, registry: RegistryServer) -> None:
    location = http.request("POST", "/v2/app/blobs/uploads/").headers["Location"]
    http.request("PATCH", location, b"partial")
    assert http.request("DELETE", location).status == 204
    assert http.request("GET", location).error_code() == "BLOB_UPLOAD_UNKNOWN"
    assert http.request("PATCH", location, b"more").status == 404
    assert list((registry.data_dir / "uploads").iterdir()) == []


def test_mount_from_another_repository_is_201(http: Client) -> None:
    digest = http.push_blob("source", b"layer to share")
    reply = http.request("POST", f"/v2/target/blobs/uploads/?mount={digest}&from=source")
    assert reply.status == 201
    assert reply.headers["Location"] == f"/v2/target/blobs/{digest}"
    assert http.request("GET", reply.headers["Location"]).body == b"layer to share"


@pytest.mark.parametrize("query", [
    "mount={missing}&from=source", "mount={present}&from=elsewhere", "mount={missing}"],
    ids=["unknown-blob", "not-in-from", "no-from-unknown-blob"])
def test_unmountable_blob_opens_a_normal_upload_session(http: Client, query: str) -> None:
    present = http.push_blob("source", b"present")
    query = query.format(missing=sha256(b"missing"), present=present)
    reply = http.request("POST", f"/v2/target/blobs/uploads/?{query}")
    assert reply.status == 202
    assert reply.headers["Location"].startswith("/v2/target/blobs/uploads/")


def test_manifest_put_by_tag_and_by_digest(http: Client) -> None:
    image = make_image("put")
    for blob in image.blobs:
        http.push_blob("app", blob)
    by_digest = http.put_manifest("app", image.digest, image.manifest)
    assert by_digest.status == 201
    assert by_digest.headers["Location"] == f"/v2/app/manifests/{image.digest}"
    assert by_digest.headers["Docker-Content-Digest"] == image.digest
    assert http.request("GET", "/v2/app/tags/list").json()["tags"] == []
    by_tag = http.put_manifest("app", "v1", image.manifest)
    assert by_tag.status == 201 and by_tag.headers["Docker-Content-Digest"] == image.digest


def test_manifest_put_with_mismatching_digest_is_400(http: Client) -> None:
    image = make_image("mismatch")
    for blob in image.blobs:
        http.push_blob("app", blob)
    reply = http.put_manifest("app", sha256(b"something else"), image.manifest)
    assert reply.status == 400 and reply.error_code() == "DIGEST_INVALID"
    assert http.request("GET", f"/v2/app/manifests/{image.digest}").status == 404


def test_manifest_with_unknown_blob_is_manifest_blob_unknown(http: Client) -> None:
    image = make_image("missing-layer")
    http.push_blob("app", image.config)
    reply = http.put_manifest("app", "v1", image.manifest)
    assert reply.status == 400 and reply.error_code() == "MANIFEST_BLOB_UNKNOWN"
    index = index_manifest([(image.manifest, OCI_MANIFEST, None)])
    reply = http.put_manifest("app", "idx", index, OCI_INDEX)
    assert reply.status == 400 and reply.error_code() == "MANIFEST_BLOB_UNKNOWN"


def test_manifest_without_layers_is_accepted(http: Client) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    http.push_blob("app", config)
    assert http.put_manifest("app", "empty", image_manifest(config, [])).status == 201


def test_manifest_over_the_limit_is_413(http: Client) -> None:
    big = json.dumps({"schemaVersion": 2, "pad": "x" * (4 * 1024 * 1024)}).encode()
    reply = http.put_manifest("app", "big", big)
    assert reply.status == 413 and reply.error_code() == "SIZE_INVALID"


@pytest.mark.parametrize("body,content_type", [
    (b"not json", OCI_MANIFEST),
    (b'{"schemaVersion": 1}', OCI_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "application/x-other"}', "application/x-other"),
    (b'{"schemaVersion": 2, "mediaType": "' + DOCKER_MANIFEST.encode() + b'"}', OCI_MANIFEST),
    (b'{"schemaVersion": 2, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", OCI_MANIFEST),
], ids=["not-json", "schema1", "unknown-type", "type-mismatch", "nested-100000-deep"])
def test_invalid_manifest_is_manifest_invalid(http: Client, body: bytes,
                                              content_type: str) -> None:
    reply = http.put_manifest("app", "bad", body, content_type)
    assert reply.status == 400 and reply.error_code() == "MANIFEST_INVALID"


def _referrer(http: Client, name: str, subject: bytes, artifact_type: str | None,
              annotation: str, *, config_type: str = OCI_EMPTY) -> bytes:
    payload = f"payload {annotation}".encode()
    http.push_blob(name, EMPTY_JSON)
    http.push_blob(name, payload)
    extra: dict = {"subject": descriptor(OCI_MANIFEST, subject),
                   "annotations": {"org.example.note": annotation}}
    if artifact_type:
        extra["artifactType"] = artifact_type
    return image_manifest(EMPTY_JSON, [payload], config_type=config_type,
                          layer_type="application/octet-stream", **extra)


def test_subject_is_answered_with_oci_subject_even_when_dangling(http: Client) -> None:
    absent = make_image("absent subject").manifest
    body = _referrer(http, "app", absent, "application/vnd.example.sig", "dangling")
    reply = http.put_manifest("app", sha256(body), body)
    assert reply.status == 201
    assert reply.headers["OCI-Subject"] == sha256(absent)


def test_referrers_list_filter_and_shape(http: Client) -> None:
    image = make_image("subject")
    assert push_image(http, "app", "v1", image).status == 201
    sbom = _referrer(http, "app", image.manifest, "application/vnd.example.sbom", "sbom")
    sig = _referrer(http, "app", image.manifest, "application/vnd.example.sig", "sig")
    typed_by_config = _referrer(http, "app", image.manifest, None, "by-config",
                                config_type="application/vnd.example.config")
    for body in (sbom, sig, typed_by_config):
        assert http.put_manifest("app", sha256(body), body).status == 201
    index_referrer = index_manifest([], subject=descriptor(OCI_MANIFEST, image.manifest),
                                    annotations={"org.example.note": "index"})
    assert http.put_manifest("app", sha256(index_referrer), index_referrer, OCI_INDEX).status == 201

    reply = http.request("GET", f"/v2/app/referrers/{image.digest}")
    assert reply.status == 200 and reply.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in reply.headers
    document = reply.json()
    assert document["schemaVersion"] == 2 and document["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in document["manifests"]}
    assert set(by_digest) == {sha256(b) for b in (sbom, sig, typed_by_config, index_referrer)}
    assert by_digest[sha256(sbom)]["artifactType"] == "application/vnd.example.sbom"
    assert by_digest[sha256(typed_by_config)]["artifactType"] == "application/vnd.example.config"
    assert "artifactType" not in by_digest[sha256(index_referrer)]
    assert by_digest[sha256(sig)]["annotations"] == {"org.example.note": "sig"}
    assert by_digest[sha256(sig)]["size"] == len(sig)
    assert by_digest[sha256(index_referrer)]["mediaType"] == OCI_INDEX

    filtered = http.request("GET", f"/v2/app/referrers/{image.digest}"
                                   "?artifactType=application/vnd.example.sbom")
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sha256(sbom)]

    # A deleted referrer leaves the list.
    assert http.request("DELETE", f"/v2/app/manifests/{sha256(sig)}").status == 202
    after = http.request("GET", f"/v2/app/referrers/{image.digest}").json()["manifests"]
    assert sha256(sig) not in {d["digest"] for d in after} and len(after) == 3


@pytest.mark.parametrize("name", ["app", "never/pushed"], ids=["known-repo", "unknown-repo"])
def test_referrers_of_unknown_digest_is_empty_200_never_404(http: Client, name: str) -> None:
    http.push_blob("app", b"x")
    reply = http.request("GET", f"/v2/{name}/referrers/{sha256(b'nothing refers to me')}")
    assert reply.status == 200 and reply.headers["Content-Type"] == OCI_INDEX
    assert reply.json()["manifests"] == []


def test_referrers_with_malformed_digest_is_400(http: Client) -> None:
    reply = http.request("GET", "/v2/app/referrers/sha256:nothex")
    assert reply.status == 400 and reply.error_code() == "DIGEST_INVALID"


# ---------------------------------------------------------------------------------------------
# Content discovery: tags and catalog


@pytest.fixture
def tagged(http: Client) -> list[str]:
    image = make_image("tags")
    tags = ["v10", "v2", "Alpha", "beta", "v1", "latest"]
    for tag in tags:
        assert push_image(http, "team/app", tag, image).status == 201
    return sorted(tags, key=lambda t: (t.lower(), t))


def test_tags_list_sorted(http: Client, tagged: list[str]) -> None:
    reply = http.request("GET", "/v2/team/app/tags/list")
    assert reply.status == 200
    assert reply.json() == {"name": "team/app", "tags": tagged}
    assert tagged[:2] == ["Alpha", "beta"]  # lexical means case-insensitive


def test_tags_list_pagination_with_n_last_and_link(http: Client, tagged: list[str]) -> None:
    collected, url = [], "/v2/team/app/tags/list?n=4"
    while url:
        reply = http.request("GET", url)
        page = reply.json()["tags"]
        assert len(page) <= 4
        collected += page
        link = reply.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"')
            url = link[1:link.index(">")]
        else:
            url = ""
    assert collected == tagged
    first = http.request("GET", "/v2/team/app/tags/list?n=2").json()["tags"]
    assert first == tagged[:2]
    after = http.request("GET", f"/v2/team/app/tags/list?n=2&last={first[-1]}").json()["tags"]
    assert after == tagged[2:4]
    only_last = http.request("GET", f"/v2/team/app/tags/list?last={tagged[3]}").json()["tags"]
    assert only_last == tagged[4:]


def test_tags_list_n_zero_is_empty_without_link(http: Client, tagged: list[str]) -> None:
    reply = http.request("GET", "/v2/team/app/tags/list?n=0")
    assert reply.json()["tags"] == [] and "Link" not in reply.headers


def test_tags_list_with_exactly_n_tags_has_no_link(http: Client, tagged: list[str]) -> None:
    reply = http.request("GET", f"/v2/team/app/tags/list?n={len(tagged)}")
    assert reply.json()["tags"] == tagged and "Link" not in reply.headers


def test_catalog_with_pagination(http: Client) -> None:
    names = ["b/app", "a", "b", "c/d/e", "a/nested"]
    for name in names:
        http.push_blob(name, b"x")
    assert http.request("GET", "/v2/_catalog").json() == {"repositories": sorted(names)}
    page = http.request("GET", "/v2/_catalog?n=2")
    assert page.json()["repositories"] == ["a", "a/nested"]
    assert page.headers["Link"] == '</v2/_catalog?n=2&last=a/nested>; rel="next"'
    rest = http.request("GET", "/v2/_catalog?n=10&last=a/nested")
    assert rest.json()["repositories"] == ["b", "b/app", "c/d/e"] and "Link" not in rest.headers


# ---------------------------------------------------------------------------------------------
# Content management


def test_delete_manifest_by_digest_removes_it_and_its_tags(http: Client) -> None:
    image = make_image("delete")
    push_image(http, "app", "v1", image)
    http.put_manifest("app", "v2", image.manifest)
    other = make_image("keep")
    push_image(http, "app", "keep", other)
    reply = http.request("DELETE", f"/v2/app/manifests/{image.digest}")
    assert reply.status == 202
    for reference in (image.digest, "v1", "v2"):
        assert http.request("GET", f"/v2/app/manifests/{reference}").status == 404
    assert http.request("GET", "/v2/app/tags/list").json()["tags"] == ["keep"]
    again = http.request("DELETE", f"/v2/app/manifests/{image.digest}")
    assert again.status == 404 and again.error_code() == "MANIFEST_UNKNOWN"


def test_delete_tag_keeps_the_manifest(http: Client) -> None:
    # We chose to support tag deletion (the spec allows 202, or 400/405 when unsupported).
    image = make_image("untag")
    push_image(http, "app", "v1", image)
    assert http.request("DELETE", "/v2/app/manifests/v1").status == 202
    assert http.request("GET", "/v2/app/manifests/v1").status == 404
    assert http.request("GET", f"/v2/app/manifests/{image.digest}").status == 200
    assert http.request("DELETE", "/v2/app/manifests/v1").status == 404


def test_delete_manifest_of_unknown_repository_is_404(http: Client) -> None:
    reply = http.request("DELETE", f"/v2/nobody/manifests/{sha256(b'x')}")
    assert reply.status == 404


def test_delete_blob(http: Client) -> None:
    digest = http.push_blob("app", b"to delete")
    assert http.request("DELETE", f"/v2/app/blobs/{digest}").status == 202
    assert http.request("GET", f"/v2/app/blobs/{digest}").status == 404
    again = http.request("DELETE", f"/v2/app/blobs/{digest}")
    assert again.status == 404 and again.error_code() == "BLOB_UNKNOWN"


# ---------------------------------------------------------------------------------------------
# Errors: the spec's codes, bodies and statuses


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/v2/app/blobs/sha256:abc", 400, "DIGEST_INVALID"),
    ("GET", "/v2/app/manifests/bad:tag:x", 400, "DIGEST_INVALID"),
    ("PUT", "/v2/app/manifests/-bad-tag", 400, "MANIFEST_INVALID"),
    ("GET", "/v2/App/tags/list", 400, "NAME_INVALID"),
    ("GET", "/v2/nobody/tags/list", 404, "NAME_UNKNOWN"),
    ("GET", f"/v2/app/blobs/{sha256(b'none')}", 404, "BLOB_UNKNOWN"),
    ("GET", "/v2/app/manifests/none", 404, "MANIFEST_UNKNOWN"),
    ("GET", "/v2/app/blobs/uploads/00000000-0000-0000-0000-000000000000", 404,
     "BLOB_UPLOAD_UNKNOWN"),
    ("PATCH", "/v2/app/blobs/uploads/not-a-uuid", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("POST", "/v2/app/manifests/v1", 405, "UNSUPPORTED"),
    ("GET", "/v2/app/tags/list?n=-1", 400, "UNSUPPORTED"),
], ids=["digest", "reference", "tag", "name", "name-unknown", "blob-unknown", "manifest-unknown",
        "upload-unknown", "upload-id", "method", "page-size"])
def test_error_codes_statuses_and_json_body(http: Client, method: str, path: str, status: int,
                                            code: str) -> None:
    http.push_blob("app", b"exists")
    reply = http.request(method, path, b"{}" if method in ("PUT", "POST", "PATCH") else None)
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    errors = reply.json()["errors"]
    assert errors[0]["code"] == code and isinstance(errors[0]["message"], str)
    assert set(errors[0]) <= {"code", "message", "detail"}
