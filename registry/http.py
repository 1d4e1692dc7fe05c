"""The registry's HTTP edge: routing, request bodies, responses and error rendering.

`RegistryApp` maps a `Request` to a `Response` with one thin handler per resource (base, blobs,
uploads, manifests, tags); handlers parse the request, call `registry.storage`, and format the
answer. `RegistryRequestHandler` is the only code that touches sockets: it frames request bodies
(Content-Length or chunked, streamed in chunks, never read whole), writes responses with a
correct Content-Length, and renders every `RegistryError` as the spec's JSON body.

Routes (OCI Distribution Spec v1.1; `<name>` may contain slashes)::

    GET|HEAD  /v2/                                   200 {} (API version check)
    GET|HEAD  /v2/<name>/blobs/<digest>              blob bytes (Range -> 206)
    POST      /v2/<name>/blobs/uploads/              202 session; ?digest= 201; ?mount=&from= 201
    GET       /v2/<name>/blobs/uploads/<uuid>        204 upload status (Range)
    PATCH     /v2/<name>/blobs/uploads/<uuid>        202 append a chunk
    PUT       /v2/<name>/blobs/uploads/<uuid>?digest= 201 last chunk, verify, commit
    DELETE    /v2/<name>/blobs/uploads/<uuid>        204 cancel
    GET|HEAD  /v2/<name>/manifests/<reference>       stored bytes with stored Content-Type
    PUT       /v2/<name>/manifests/<reference>       201
    GET       /v2/<name>/tags/list                   {"name", "tags"} in lexical order
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from registry.errors import RegistryError
from registry.storage import MAX_MANIFEST_BYTES, Storage, UploadSession, parse_digest

__all__ = ["Body", "BodyError", "RegistryApp", "RegistryHTTPServer", "RegistryRequestHandler",
           "Request", "Response", "error_response"]

log = logging.getLogger("skiff.registry")

API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
_CHUNK = 1024 * 1024
# Unread request bodies up to this size are drained to keep the connection; bigger ones close it.
_DRAIN_LIMIT = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Requests and responses


class BodyError(Exception):
    """The request body is malformed or ended early; the connection cannot be reused."""


class Body:
    """A request body read lazily, as chunks, framed by Content-Length or chunked encoding."""

    def __init__(self, rfile: BinaryIO, headers: Message) -> None:
        self._rfile = rfile
        self.chunked = False
        self.length: int | None = 0
        encoding = headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise BodyError(f"unsupported Transfer-Encoding {encoding!r}")
            self.chunked, self.length = True, None
        elif headers.get("Content-Length") is not None:
            value = headers["Content-Length"].strip()
            if not value.isdigit():
                raise BodyError(f"invalid Content-Length {value!r}")
            self.length = int(value)
        self.received = 0
        self.done = self.length == 0
        self._iterator: Iterator[bytes] | None = None

    def chunks(self) -> Iterator[bytes]:
        """The body as chunks of at most 1 MiB; one shared iterator, so a second call resumes."""
        if self._iterator is None:
            self._iterator = self._chunked() if self.chunked else self._sized()
        return self._iterator

    def read_all(self, limit: int) -> bytes:
        """The whole body (for manifests); SIZE_INVALID when it is longer than `limit`."""
        parts, size = [], 0
        for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise RegistryError("SIZE_INVALID", f"body larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int = _DRAIN_LIMIT) -> bool:
        """Read and drop what is left, up to `limit` bytes; True when the body was consumed."""
        if self.done:
            return True
        try:
            dropped = 0
            for chunk in self.chunks():
                dropped += len(chunk)
                if dropped > limit:
                    return False
        except (BodyError, OSError):
            return False
        return self.done

    def _sized(self) -> Iterator[bytes]:
        remaining = self.length or 0
        while remaining > 0:
            data = self._rfile.read(min(remaining, _CHUNK))
            if not data:
                raise BodyError(f"body ended after {self.received} of {self.length} bytes")
            remaining -= len(data)
            self.received += len(data)
            yield data
        self.done = True

    def _chunked(self) -> Iterator[bytes]:
        while True:
            line = self._rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise BodyError("body ended inside a chunk header")
            size_field = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]+", size_field):
                raise BodyError(f"invalid chunk size {size_field[:20]!r}")
            size = int(size_field, 16)
            if size == 0:
                break
            while size > 0:
                data = self._rfile.read(min(size, _CHUNK))
                if not data:
                    raise BodyError("body ended inside a chunk")
                size -= len(data)
                self.received += len(data)
                yield data
            if self._rfile.readline(3).strip():
                raise BodyError("chunk not followed by CRLF")
        while True:  # trailers, ignored, up to the empty line
            line = self._rfile.readline(8192)
            if not line:
                raise BodyError("body ended inside the trailers")
            if not line.strip():
                break
        self.done = True


@dataclass
class Request:
    """What a handler sees of an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: Body


@dataclass
class Response:
    """What a handler returns. `file` (with `offset`, `length`) is streamed instead of `body`."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: BinaryIO | None = None
    offset: int = 0
    length: int = 0

    @property
    def content_length(self) -> int:
        return self.length if self.file is not None else len(self.body)


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(status, {"Content-Type": "application/json", **(headers or {})},
                    json.dumps(document).encode())


def error_response(error: RegistryError, headers: dict[str, str] | None = None) -> Response:
    """The spec's error body for `error`, with the status the error table gives it."""
    return json_response(error.status, {"errors": [error.to_dict()]}, headers)


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
    """`/v2/`: tells clients this is a v2 registry (and, later, where to authenticate)."""

    def get(self, request: Request) -> Response:
        return json_response(200, {})


class BlobHandler:
    """`/v2/<name>/blobs/<digest>`: read blobs, whole or by byte range."""

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
        if byte_range == "unsatisfiable":
            file.close()
            return Response(416, {"Content-Range": f"bytes */{info.size}"})
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
        return Response(206, headers, file=file, offset=start, length=end - start + 1)


class UploadHandler:
    """`/v2/<name>/blobs/uploads/[<uuid>]`: upload sessions, monolithic uploads and mounts."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def start(self, request: Request, name: str) -> Response:
        repository = self.storage.repository(name)
        if "mount" in request.query:
            digest = parse_digest(request.query["mount"])
            source = request.query.get("from")
            mounted = repository.mount_blob(
                digest, self.storage.repository(source) if source else None)
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

    def patch(self, request: Request, name: str, upload_id: str) -> Response:
        repository = self.storage.repository(name)
        session = repository.get_upload(upload_id)
        content_range = request.headers.get("Content-Range")
        if content_range is not None:
            match = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)", content_range.strip())
            if match is None or int(match[1]) != session.offset:
                error = RegistryError("BLOB_UPLOAD_INVALID",
                                      f"Content-Range {content_range!r} does not start at the "
                                      f"upload's offset {session.offset}", status=416)
                return error_response(error, _upload_headers(name, session))
        session = repository.append_upload(upload_id, request.body.chunks())
        return Response(202, _upload_headers(name, session))

    def finish(self, request: Request, name: str, upload_id: str) -> Response:
        repository = self.storage.repository(name)
        if "digest" not in request.query:
            raise RegistryError("DIGEST_INVALID", "the digest query parameter is required")
        digest = parse_digest(request.query["digest"])
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

    def put(self, request: Request, name: str, reference: str) -> Response:
        repository = self.storage.repository(name)
        body = request.body.read_all(MAX_MANIFEST_BYTES)
        info = repository.put_manifest(reference, body, request.headers.get("Content-Type"))
        return Response(201, {"Location": f"/v2/{name}/manifests/{info.digest}",
                              "Docker-Content-Digest": str(info.digest)})


class TagsHandler:
    """`/v2/<name>/tags/list`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def list(self, request: Request, name: str) -> Response:
        repository = self.storage.repository(name)
        return json_response(200, {"name": name, "tags": repository.tags()})


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
# Routing


Handler = Callable[..., Response]


class RegistryApp:
    """Routes a `Request` to its resource handler and turns RegistryError into a response."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        base = BaseHandler()
        blobs, uploads = BlobHandler(storage), UploadHandler(storage)
        manifests, tags = ManifestHandler(storage), TagsHandler(storage)
        # Order matters: ".../blobs/uploads/" must win over ".../blobs/<digest>". The name is
        # matched greedily and validated by storage, so names like "a/blobs/b" still work.
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/v2/?"), {"GET": base.get, "HEAD": base.get}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?"), {"POST": uploads.start}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<upload_id>[^/]+)"),
             {"GET": uploads.status, "PATCH": uploads.patch, "PUT": uploads.finish,
              "DELETE": uploads.cancel}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)"),
             {"GET": blobs.get, "HEAD": blobs.get}),
            (re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)"),
             {"GET": manifests.get, "HEAD": manifests.get, "PUT": manifests.put}),
            (re.compile(r"/v2/(?P<name>.+)/tags/list"), {"GET": tags.list}),
        ]

    def handle(self, request: Request) -> Response:
        """The response to `request`; RegistryError becomes its OCI error response."""
        for pattern, methods in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                error = RegistryError("UNSUPPORTED", f"{request.method} is not supported on "
                                      f"{request.path}", status=405)
                return error_response(error, {"Allow": ", ".join(sorted(methods))})
            try:
                return handler(request, **match.groupdict())
            except RegistryError as error:
                return error_response(error)
        return error_response(RegistryError("UNSUPPORTED", f"no route for {request.path}",
                                            status=404))


# ---------------------------------------------------------------------------------------------
# The socket side


class RegistryRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; hands each request to the server's RegistryApp."""

    protocol_version = "HTTP/1.1"
    server_version = "skiff-registry/0.1"
    # Per-read socket timeout: frees threads held by idle keep-alive connections.
    timeout = 120
    server: "RegistryHTTPServer"

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        body: Body | None = None
        try:
            body = Body(self.rfile, self.headers)
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            request = Request(self.command, url.path, query, self.headers, body)
            response = self.server.app.handle(request)
        except BodyError as exc:
            log.info("%s %s: bad request body: %s", self.command, self.path, exc)
            response = error_response(RegistryError("BLOB_UPLOAD_INVALID", str(exc)))
        except Exception:
            log.exception("%s %s failed", self.command, self.path)
            response = error_response(RegistryError("UNKNOWN", "internal server error"))
        if body is None or not body.drain():
            # The body's end is unknown or too far: the next request could not be framed.
            self.close_connection = True
            response.headers["Connection"] = "close"
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header(*API_VERSION)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if response.status != 204:
                self.send_header("Content-Length", str(response.content_length))
            self.end_headers()
            if self.command == "HEAD" or response.status == 204:
                return
            if response.file is not None:
                self.connection.sendfile(response.file, response.offset, response.length)
            elif response.body:
                self.wfile.write(response.body)
        except OSError as exc:  # the client went away; nothing left to tell it
            log.debug("%s %s: connection lost while responding: %s", self.command, self.path, exc)
            self.close_connection = True
        finally:
            if response.file is not None:
                response.file.close()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class RegistryHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server for one RegistryApp that can close its open connections."""

    daemon_threads = True
    # Keep-alive clients (docker) hold connections open; stop() must not wait for them.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: RegistryApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, RegistryRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection (their threads then end)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
