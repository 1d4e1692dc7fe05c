"""The registry's HTTP edge: routes, one thin handler per resource, the auth gate, error rendering.

`RegistryApp` maps a `registry.wire.Request` to a `Response`. Handlers parse the request, call
`registry.storage` (and `registry.lifecycle` for the admin API), and format the answer; they
hold no storage logic. Every `RegistryError` becomes the spec's JSON body here and nowhere else.

OCI Distribution Spec v1.1 routes (`<name>` may contain slashes)::

    GET|HEAD  /v2/                                    200 {} (API version check; 401 with auth)
    GET       /v2/_catalog?n=&last=                   repositories, paginated (Link)
    GET|HEAD  /v2/<name>/blobs/<digest>               blob bytes (Range -> 206)
    DELETE    /v2/<name>/blobs/<digest>               202 unlink from the repository
    POST      /v2/<name>/blobs/uploads/               202 session; ?digest= 201; ?mount=&from= 201
    GET       /v2/<name>/blobs/uploads/<uuid>         204 upload status (Range)
    PATCH     /v2/<name>/blobs/uploads/<uuid>         202 append a chunk (Content-Range in order)
    PUT       /v2/<name>/blobs/uploads/<uuid>?digest= 201 last chunk, verify, commit
    DELETE    /v2/<name>/blobs/uploads/<uuid>         204 cancel
    GET|HEAD  /v2/<name>/manifests/<reference>        stored bytes with stored Content-Type
    PUT       /v2/<name>/manifests/<reference>        201 (OCI-Subject when it has a subject)
    DELETE    /v2/<name>/manifests/<reference>        202 (a digest: the manifest; a tag: the tag)
    GET       /v2/<name>/tags/list?n=&last=           {"name", "tags"} in lexical order (Link)
    GET       /v2/<name>/referrers/<digest>           image index (?artifactType= filter)

Docker's token endpoint (only with an auth file)::

    GET|POST  /token?service=&scope=                  {"token", "access_token", "expires_in"}

Skiff's admin API (ECR-style repository management, same credentials)::

    GET       /skiff/v1/repositories                          repositories you may pull
    POST      /skiff/v1/repositories                          create {name, immutable, public}
    GET       /skiff/v1/repositories/<name>                   settings and image count
    PATCH     /skiff/v1/repositories/<name>                   change {immutable, public}
    DELETE    /skiff/v1/repositories/<name>?force=true        delete
    GET       /skiff/v1/repositories/<name>/_images           images: tags, digest, size, pushed
    GET|PUT   /skiff/v1/repositories/<name>/_lifecycle        the ECR lifecycle policy
    POST      /skiff/v1/repositories/<name>/_lifecycle/run    apply it now (?dryRun=true)

Rights: pull for reads, push for writes (and creating a repository), delete for deletions,
settings and lifecycle. `_images` and `_lifecycle` cannot be repository name components (those
start with a letter or digit), so these paths are never ambiguous.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable
from urllib.parse import parse_qsl

from registry.auth import Authorizer, Identity
from registry.errors import RegistryError
from registry.lifecycle import apply_lifecycle, parse_policy
from registry.storage import (
    MAX_MANIFEST_BYTES, OCI_INDEX, Storage, UploadSession, parse_digest, parse_reference,
    tag_sort_key, validate_name)
from registry.wire import BodyError, Request, Response

__all__ = ["API_VERSION", "RegistryApp", "error_response", "json_response"]

log = logging.getLogger("skiff.registry")

API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
_MAX_PAGE = 10000
_ADMIN_BODY_LIMIT = 1024 * 1024


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(status, {"Content-Type": "application/json", **(headers or {})},
                    json.dumps(document).encode())


def error_response(error: RegistryError, headers: dict[str, str] | None = None) -> Response:
    """The spec's error body for `error`, with the status the error table gives it."""
    return json_response(error.status, {"errors": [error.to_dict()]}, headers)


def _page_size(query: dict[str, str]) -> int | None:
    value = query.get("n")
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise RegistryError("UNSUPPORTED", f"n must be a non-negative integer, not {value!r}",
                            {"n": value}, status=400)
    return min(int(value), _MAX_PAGE)


def _paginate(items: list[str], n: int | None, last: str | None, key: Callable[[str], Any],
              next_url: Callable[[int, str], str]) -> tuple[list[str], dict[str, str]]:
    """One page after `last` (exclusive) of at most `n` items, and a Link header for the next."""
    if last:
        last_key = key(last)
        items = [item for item in items if key(item) > last_key]
    if n is None:
        return items, {}
    page = items[:n]
    headers = {}
    if n > 0 and len(items) > n:
        headers["Link"] = f'<{next_url(n, page[-1])}>; rel="next"'
    return page, headers


def _read_json(request: Request) -> Any:
    body = request.body.read_all(_ADMIN_BODY_LIMIT, lambda: RegistryError(
        "SIZE_INVALID", "request body too large", status=413))
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RegistryError("INVALID_PARAMETER", f"request body is not JSON: {exc}") from None
    except RecursionError:  # the parser recurses once per level; no setting nests this deep
        raise RegistryError("INVALID_PARAMETER", "request body nests too deeply") from None


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true", "yes")


# ---------------------------------------------------------------------------------------------
# Handlers, one per resource. They hold no storage logic.


def _upload_headers(name: str, session: UploadSession) -> dict[str, str]:
    # Range is inclusive; an empty upload is reported as 0-0, as distribution does.
    return {"Location": f"/v2/{name}/blobs/uploads/{session.id}",
            "Range": f"0-{max(session.offset - 1, 0)}",
            "Docker-Upload-UUID": session.id}


def _blob_created(name: str, digest: object) -> Response:
    return Response(201, {"Location": f"/v2/{name}/blobs/{digest}",
                          "Docker-Content-Digest": str(digest)})


class BaseHandler:
    """`/v2/`: tells clients this is a v2 registry."""

    def get(self, request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, b"{}")


class CatalogHandler:
    """`/v2/_catalog`: repository names, paginated; with auth, only those the caller may pull."""

    def __init__(self, storage: Storage, may: Callable[[Request, str, str], bool]) -> None:
        self.storage = storage
        self.may = may

    def get(self, request: Request) -> Response:
        names = [n for n in self.storage.repositories() if self.may(request, n, "pull")]
        page, headers = _paginate(names, _page_size(request.query), request.query.get("last"),
                                  lambda s: s, lambda n, last: f"/v2/_catalog?n={n}&last={last}")
        return json_response(200, {"repositories": page}, headers)


class BlobHandler:
    """`/v2/<name>/blobs/<digest>`: read blobs, whole or by byte range; unlink them."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def get(self, request: Request, name: str, digest: str) -> Response:
        repository = self.storage.repository(name)
        file, info = repository.open_blob(parse_digest(digest))
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                   "Docker-Content-Digest": str(info.digest)}
        byte_range = _parse_range(request.headers.get("Range"), info.size)
        if byte_range is None:
            return Response(200, headers, file=file, length=info.size)
        if isinstance(byte_range, str):  # "unsatisfiable"
            file.close()
            return Response(416, {"Content-Range": f"bytes */{info.size}",
                                  "Content-Type": "text/plain"})
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
        return Response(206, headers, file=file, offset=start, length=end - start + 1)

    def head(self, request: Request, name: str, digest: str) -> Response:
        info = self.storage.repository(name).stat_blob(parse_digest(digest))
        return Response(200, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                              "Docker-Content-Digest": str(info.digest)}, head_length=info.size)

    def delete(self, request: Request, name: str, digest: str) -> Response:
        self.storage.repository(name).delete_blob(parse_digest(digest))
        return Response(202, {"Docker-Content-Digest": digest})


class UploadHandler:
    """`/v2/<name>/blobs/uploads/[<uuid>]`: upload sessions, monolithic uploads and mounts."""

    def __init__(self, storage: Storage, may: Callable[[Request, str, str], bool],
                 open_registry: bool) -> None:
        self.storage = storage
        self.may = may
        self.open_registry = open_registry

    def start(self, request: Request, name: str) -> Response:
        repository = self.storage.repository(name)
        if "mount" in request.query:
            digest = parse_digest(request.query["mount"])
            source = request.query.get("from") or None
            mounted = None
            if source is not None:
                source_repository = self.storage.repository(source)
                if self.may(request, source, "pull"):
                    mounted = repository.mount_blob(digest, source_repository)
            elif self.open_registry:
                # No `from`: mount any stored blob (only when nobody's access is checked).
                mounted = repository.mount_blob(digest, None)
            if mounted is not None:
                return _blob_created(name, digest)
            # Not mountable: the spec says to fall back to an ordinary upload session.
        elif "digest" in request.query:
            digest = parse_digest(request.query["digest"])
            repository.put_blob(digest, request.body.chunks(), expected_size=request.body.length)
            return _blob_created(name, digest)
        return Response(202, _upload_headers(name, repository.start_upload()))

    def status(self, request: Request, name: str, upload_id: str) -> Response:
        session = self.storage.repository(name).get_upload(upload_id)
        return Response(204, _upload_headers(name, session))

    def _check_range(self, request: Request, name: str, session: UploadSession
                     ) -> Response | None:
        content_range = request.headers.get("Content-Range")
        if content_range is None:
            return None
        match = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?", content_range.strip())
        if match is None or int(match[1]) != session.offset:
            error = RegistryError("BLOB_UPLOAD_INVALID",
                                  f"Content-Range {content_range!r} does not start at the "
                                  f"upload's offset {session.offset}", status=416)
            return error_response(error, _upload_headers(name, session))
        start, end = int(match[1]), int(match[2])
        length = request.body.length
        if end < start or (length is not None and length != end - start + 1):
            error = RegistryError("BLOB_UPLOAD_INVALID",
                                  f"Content-Range {content_range!r} does not match the "
                                  f"{length}-byte body", status=416)
            return error_response(error, _upload_headers(name, session))
        return None

    def patch(self, request: Request, name: str, upload_id: str) -> Response:
        repository = self.storage.repository(name)
        session = repository.get_upload(upload_id)
        refused = self._check_range(request, name, session)
        if refused is not None:
            return refused
        session = repository.append_upload(upload_id, request.body.chunks())
        return Response(202, _upload_headers(name, session))

    def finish(self, request: Request, name: str, upload_id: str) -> Response:
        repository = self.storage.repository(name)
        if "digest" not in request.query:
            raise RegistryError("DIGEST_INVALID", "the digest query parameter is required")
        digest = parse_digest(request.query["digest"])
        if request.headers.get("Content-Range") is not None:
            refused = self._check_range(request, name, repository.get_upload(upload_id))
            if refused is not None:
                return refused
        repository.complete_upload(upload_id, digest, request.body.chunks())
        return _blob_created(name, digest)

    def cancel(self, request: Request, name: str, upload_id: str) -> Response:
        self.storage.repository(name).cancel_upload(upload_id)
        return Response(204)


class ManifestHandler:
    """`/v2/<name>/manifests/<reference>`: manifests by tag or digest."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def get(self, request: Request, name: str, reference: str) -> Response:
        body, info = self.storage.repository(name).get_manifest(reference)
        return Response(200, {"Content-Type": info.media_type,
                              "Docker-Content-Digest": str(info.digest)}, body)

    def head(self, request: Request, name: str, reference: str) -> Response:
        info = self.storage.repository(name).stat_manifest(reference)
        return Response(200, {"Content-Type": info.media_type,
                              "Docker-Content-Digest": str(info.digest)}, head_length=info.size)

    def put(self, request: Request, name: str, reference: str) -> Response:
        repository = self.storage.repository(name)
        parse_reference(reference)  # a bad tag or digest is refused before the body is read
        body = request.body.read_all(MAX_MANIFEST_BYTES, lambda: RegistryError(
            "SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes", status=413))
        info = repository.put_manifest(reference, body, request.headers.get("Content-Type"))
        headers = {"Location": f"/v2/{name}/manifests/{info.digest}",
                   "Docker-Content-Digest": str(info.digest)}
        if info.subject:
            headers["OCI-Subject"] = info.subject
        return Response(201, headers)

    def delete(self, request: Request, name: str, reference: str) -> Response:
        repository = self.storage.repository(name)
        target = parse_reference(reference)
        if isinstance(target, str):
            repository.delete_tag(target)
        else:
            repository.delete_manifest(target)
        return Response(202)


class TagsHandler:
    """`/v2/<name>/tags/list`, paginated with `n` and `last`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def list(self, request: Request, name: str) -> Response:
        tags = self.storage.repository(name).tags()
        page, headers = _paginate(tags, _page_size(request.query), request.query.get("last"),
                                  tag_sort_key,
                                  lambda n, last: f"/v2/{name}/tags/list?n={n}&last={last}")
        return json_response(200, {"name": name, "tags": page}, headers)


class ReferrersHandler:
    """`/v2/<name>/referrers/<digest>`: an image index of the manifests whose subject it is."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def get(self, request: Request, name: str, digest: str) -> Response:
        subject = parse_digest(digest)
        artifact_type = request.query.get("artifactType") or None
        descriptors = self.storage.repository(name).referrers(subject, artifact_type)
        headers = {"Content-Type": OCI_INDEX}
        if artifact_type is not None:
            headers["OCI-Filters-Applied"] = "artifactType"
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
        return Response(200, headers, json.dumps(body).encode())


class TokenHandler:
    """`/token`: Docker's token endpoint (the realm of the Bearer challenge)."""

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def get(self, request: Request) -> Response:
        identity = self.authorizer.authenticate(request.headers.get("Authorization"))
        if identity.via == "bearer":
            raise RegistryError("UNAUTHORIZED", "use a password, not a token, to get a token")
        # Docker repeats `scope` (a mount needs two repositories); Request.query keeps one.
        scopes = [v for k, v in parse_qsl(request.query_string, keep_blank_values=True)
                  if k == "scope"]
        return json_response(200, self.authorizer.issue_token(identity.user, scopes))

    def post(self, request: Request) -> Response:
        # OAuth2 password grant (what Docker sends when it holds no refresh token).
        form = dict(parse_qsl(request.body.read_all(65536, lambda: RegistryError(
            "SIZE_INVALID", "form too large", status=413)).decode("latin-1"),
            keep_blank_values=True))
        if form.get("grant_type") != "password":
            raise RegistryError("UNSUPPORTED", "only grant_type=password is supported", status=400)
        user = self.authorizer.check_password(form.get("username", ""), form.get("password", ""))
        token = self.authorizer.issue_token(user, form.get("scope", "").split(" "))
        return json_response(200, token)


class AdminHandler:
    """`/skiff/v1/repositories...`: ECR-style repository management."""

    def __init__(self, storage: Storage, may: Callable[[Request, str, str], bool],
                 require: Callable[[Request, str, str], None]) -> None:
        self.storage = storage
        self.may = may
        self.require = require

    def _describe(self, name: str) -> dict[str, Any]:
        repository = self.storage.repository(name)
        document = repository.info().to_json()
        document["imageCount"] = len(repository.revisions())
        document["tagCount"] = len(repository.tags()) if repository.exists() else 0
        return document

    def list(self, request: Request) -> Response:
        names = [n for n in self.storage.repositories() if self.may(request, n, "pull")]
        return json_response(200, {"repositories": [self._describe(n) for n in names]})

    def create(self, request: Request) -> Response:
        document = _read_json(request)
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str):
            raise RegistryError("INVALID_PARAMETER", "name is required", {"field": "name"})
        validate_name(name)
        self.require(request, name, "push")
        for flag in ("immutable", "public"):
            if not isinstance(document.get(flag, False), bool):
                raise RegistryError("INVALID_PARAMETER", f"{flag} must be true or false",
                                    {"field": flag})
        info = self.storage.create_repository(name, immutable=document.get("immutable", False),
                                              public=document.get("public", False))
        return json_response(201, info.to_json(),
                             {"Location": f"/skiff/v1/repositories/{name}"})

    def get(self, request: Request, name: str) -> Response:
        return json_response(200, self._describe(name))

    def update(self, request: Request, name: str) -> Response:
        document = _read_json(request)
        if not isinstance(document, dict):
            raise RegistryError("INVALID_PARAMETER", "the body must be a JSON object")
        changes = {}
        for flag in ("immutable", "public"):
            if flag in document:
                if not isinstance(document[flag], bool):
                    raise RegistryError("INVALID_PARAMETER", f"{flag} must be true or false",
                                        {"field": flag})
                changes[flag] = document[flag]
        info = self.storage.repository(name).update(**changes)
        return json_response(200, info.to_json())

    def delete(self, request: Request, name: str) -> Response:
        info = self.storage.repository(name).info()
        self.storage.delete_repository(name, force=_flag(request.query, "force"))
        return json_response(200, info.to_json())

    def images(self, request: Request, name: str) -> Response:
        images = self.storage.repository(name).images()
        return json_response(200, {"repositoryName": name,
                                   "imageDetails": [image.to_json() for image in images]})

    def get_lifecycle(self, request: Request, name: str) -> Response:
        info = self.storage.repository(name).info()
        return json_response(200, {"repositoryName": name, "rules": list(info.lifecycle)})

    def put_lifecycle(self, request: Request, name: str) -> Response:
        rules = parse_policy(_read_json(request))
        info = self.storage.repository(name).update(lifecycle=[r.to_json() for r in rules])
        return json_response(200, {"repositoryName": name, "rules": list(info.lifecycle)})

    def run_lifecycle(self, request: Request, name: str) -> Response:
        document = _read_json(request)
        repository = self.storage.repository(name)
        rules = parse_policy(document) if document else None
        dry_run = _flag(request.query, "dryRun")
        expiries = apply_lifecycle(repository, rules, dry_run=dry_run)
        return json_response(200, {"repositoryName": name, "dryRun": dry_run,
                                   "expired": [e.to_json() for e in expiries]})


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """A single `bytes=` range as inclusive (start, end), "unsatisfiable", or None to ignore.

    Multiple or malformed ranges are ignored (the whole blob is served), as RFC 9110 allows.
    """
    if not header:
        return None
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix range: the last N bytes
        length = int(match[2])
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(match[1])
    if start >= size:
        return "unsatisfiable"
    end = int(match[2]) if match[2] else size - 1
    if start > end:
        return None
    return start, min(end, size - 1)


# ---------------------------------------------------------------------------------------------
# Routing and the auth gate


Handler = Callable[..., Response]
# What a route needs: None (nothing), "login" (any valid credentials), or an action on `name`.
Access = str | None
_SCOPE_ACTIONS = {"pull": "pull", "push": "pull,push", "delete": "delete"}


class RegistryApp:
    """Routes a `Request` to its handler behind the auth gate; RegistryError becomes a response.

    With `authorizer=None` the registry is open: every request is allowed.
    """

    def __init__(self, storage: Storage, authorizer: Authorizer | None = None) -> None:
        self.storage = storage
        self.authorizer = authorizer
        base, catalog = BaseHandler(), CatalogHandler(storage, self.may)
        blobs = BlobHandler(storage)
        uploads = UploadHandler(storage, self.may, open_registry=authorizer is None)
        manifests, tags = ManifestHandler(storage), TagsHandler(storage)
        referrers = ReferrersHandler(storage)
        admin = AdminHandler(storage, self.may, self.require)
        # Order matters: ".../blobs/uploads/" must win over ".../blobs/<digest>". The name is
        # matched greedily and validated by storage, so names like "a/blobs/b" still work.
        self.v2_routes: list[tuple[re.Pattern[str], dict[str, tuple[Handler, Access]]]] = [
            (re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)"),
             {"GET": (manifests.get, "pull"), "HEAD": (manifests.head, "pull"),
              "PUT": (manifests.put, "push"), "DELETE": (manifests.delete, "delete")}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?"), {"POST": (uploads.start, "push")}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<upload_id>[^/]+)"),
             {"GET": (uploads.status, "push"), "PATCH": (uploads.patch, "push"),
              "PUT": (uploads.finish, "push"), "DELETE": (uploads.cancel, "push")}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)"),
             {"GET": (blobs.get, "pull"), "HEAD": (blobs.head, "pull"),
              "DELETE": (blobs.delete, "delete")}),
            (re.compile(r"/v2/(?P<name>.+)/tags/list"), {"GET": (tags.list, "pull")}),
            (re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)"),
             {"GET": (referrers.get, "pull")}),
            (re.compile(r"/v2/_catalog"), {"GET": (catalog.get, "login")}),
            (re.compile(r"/v2/?"), {"GET": (base.get, "login"), "HEAD": (base.get, "login")}),
        ]
        self.other_routes: list[tuple[re.Pattern[str], dict[str, tuple[Handler, Access]]]] = [
            (re.compile(r"/skiff/v1/repositories/?"),
             {"GET": (admin.list, "login"), "POST": (admin.create, "login")}),
            (re.compile(r"/skiff/v1/repositories/(?P<name>.+)/_images"),
             {"GET": (admin.images, "pull")}),
            (re.compile(r"/skiff/v1/repositories/(?P<name>.+)/_lifecycle/run"),
             {"POST": (admin.run_lifecycle, "delete")}),
            (re.compile(r"/skiff/v1/repositories/(?P<name>.+)/_lifecycle"),
             {"GET": (admin.get_lifecycle, "pull"), "PUT": (admin.put_lifecycle, "delete")}),
            (re.compile(r"/skiff/v1/repositories/(?P<name>.+)"),
             {"GET": (admin.get, "pull"), "PATCH": (admin.update, "delete"),
              "DELETE": (admin.delete, "delete")}),
        ]
        if authorizer is not None:
            token = TokenHandler(authorizer)
            self.other_routes.append((re.compile(r"/token"),
                                      {"GET": (token.get, None), "POST": (token.post, None)}))

    # -- the auth gate

    def may(self, request: Request, name: str, action: str) -> bool:
        """Whether the request's caller may do `action` on repository `name`."""
        if self.authorizer is None:
            return True
        identity = request.identity
        if identity is None:
            identity = self.authorizer.authenticate(request.headers.get("Authorization"))
            request.identity = identity
        return self.authorizer.allowed(identity, name, action)

    def require(self, request: Request, name: str, action: str) -> None:
        """Raise UNAUTHORIZED (with a challenge) or DENIED unless the caller may do `action`."""
        if self.authorizer is None or self.may(request, name, action):
            return
        identity: Identity = request.identity
        if identity.anonymous or self.authorizer.needs_new_token(identity, name, action):
            raise RegistryError("UNAUTHORIZED", f"authentication required to {action} {name!r}",
                                {"scope": f"repository:{name}:{_SCOPE_ACTIONS[action]}"})
        raise RegistryError("DENIED", f"{identity.user!r} may not {action} {name!r}",
                            {"name": name, "action": action})

    def _gate(self, request: Request, access: Access, params: dict[str, str]) -> None:
        if self.authorizer is None or access is None:
            return
        request.identity = self.authorizer.authenticate(request.headers.get("Authorization"))
        if access == "login":
            if request.identity.anonymous:
                raise RegistryError("UNAUTHORIZED", "authentication required")
            return
        name = validate_name(params["name"])
        self.require(request, name, access)

    def _challenge(self, request: Request, error: RegistryError) -> dict[str, str]:
        if self.authorizer is None:
            return {}
        scope = error.detail.get("scope") if isinstance(error.detail, dict) else None
        return {"WWW-Authenticate": self.authorizer.challenge(f"{request.base_url}/token", scope)}

    # -- dispatch

    def __call__(self, request: Request) -> Response:
        return self.handle(request)

    def handle(self, request: Request) -> Response:
        """The response to `request`; RegistryError becomes its OCI error response."""
        path = request.path
        routes = self.v2_routes if path.startswith("/v2") else self.other_routes
        try:
            for pattern, methods in routes:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                entry = methods.get(request.method)
                if entry is None:
                    error = RegistryError("UNSUPPORTED", f"{request.method} is not supported on "
                                          f"{path}", status=405)
                    return error_response(error, {"Allow": ", ".join(sorted(methods))})
                handler, access = entry
                params = match.groupdict()
                self._gate(request, access, params)
                return handler(request, **params)
            return error_response(RegistryError("UNSUPPORTED", f"no route for {path}",
                                                status=404))
        except RegistryError as error:
            headers = self._challenge(request, error) if error.code == "UNAUTHORIZED" else {}
            return error_response(error, headers)
        except BodyError as exc:
            log.info("%s %s: bad request body: %s", request.method, path, exc)
            response = error_response(RegistryError("BLOB_UPLOAD_INVALID", str(exc)))
            response.close = True
            return response
        except Exception:
            log.exception("%s %s failed", request.method, path)
            return error_response(RegistryError("UNKNOWN", "internal server error"))
