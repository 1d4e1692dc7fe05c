"""HTTP/1.1 over sockets, the only code of the registry that touches them.

A small threaded server: one acceptor, one thread per connection, keep-alive, request bodies
framed by Content-Length or chunked encoding and read lazily as chunks (never whole), responses
written with one `sendall` (headers and small bodies together, so Nagle never delays them) and
files sent with `socket.sendfile` (zero copy). Optional TLS via an `ssl.SSLContext`.

It knows nothing of registries: it turns bytes into a `Request`, calls `app(request)`, and
writes the `Response` it gets back. `http.server` was measured at ~300 manifest GETs/s here
(header parsing through `email`, and writes split across packets); this path is much shorter.
"""

from __future__ import annotations

import logging
import re
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, BinaryIO, Callable, Iterator, cast
from urllib.parse import parse_qs, unquote

__all__ = ["Body", "BodyError", "Headers", "HTTPServer", "Request", "Response"]

log = logging.getLogger("skiff.registry.http")

_CHUNK = 1024 * 1024
_MAX_LINE = 65536
_HTTP_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
_MAX_HEADERS = 200
# Unread request bodies up to this size are drained to keep the connection; bigger ones close it.
_DRAIN_LIMIT = 1024 * 1024
# Closing with unread input makes the kernel send a reset that can beat our answer to the
# client; before closing, unread input is discarded for up to this long / this much.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 64 * 1024 * 1024

_CHUNK_SIZE_RE = re.compile(rb"[0-9a-fA-F]{1,16}")
_READ_BUFFER = 256 * 1024

_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    206: "Partial Content", 301: "Moved Permanently", 307: "Temporary Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 411: "Length Required",
    413: "Payload Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class BodyError(Exception):
    """The request body is malformed or ended early; the connection cannot be reused."""


class Headers:
    """Request headers, looked up case-insensitively (repeated headers joined with ", ")."""

    __slots__ = ("_headers",)

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._headers

    def items(self) -> Any:
        return self._headers.items()


class Body:
    """A request body read lazily, as chunks, framed by Content-Length or chunked encoding."""

    def __init__(self, rfile: BinaryIO, headers: Headers) -> None:
        self._rfile = rfile
        self.chunked = False
        self.length: int | None = 0
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise BodyError(f"unsupported Transfer-Encoding {encoding!r}")
            self.chunked, self.length = True, None
        else:
            value = headers.get("content-length")
            if value is not None:
                value = value.strip()
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

    def read_all(self, limit: int, too_large: Callable[[], Exception]) -> bytes:
        """The whole body; `too_large()` is raised when it is longer than `limit`."""
        if self.length is not None and self.length > limit:
            raise too_large()
        parts, size = [], 0
        for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise too_large()
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int = _DRAIN_LIMIT) -> bool:
        """Read and drop what is left, up to `limit` bytes; True when the body was consumed."""
        if self.done:
            return True
        if self.length is not None and self.length - self.received > limit:
            return False
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
        remaining = (self.length or 0) - self.received
        read = self._rfile.read
        while remaining > 0:
            data = read(min(remaining, _CHUNK))
            if not data:
                raise BodyError(f"body ended after {self.received} of {self.length} bytes")
            remaining -= len(data)
            self.received += len(data)
            yield data
        self.done = True

    def _chunked(self) -> Iterator[bytes]:
        # Clients send small chunks (Docker: 32 KiB); they are gathered into pieces of up to
        # 1 MiB so that hashing and writing them (and the GIL hand-offs around each) happen
        # once per piece rather than once per chunk. What was received before the body breaks
        # off is still handed over, so an interrupted upload keeps it.
        readline, read = self._rfile.readline, self._rfile.read
        pending: list[bytes] = []
        pending_size = 0
        try:
            while True:
                line = readline(1024)
                if not line.endswith(b"\n"):
                    raise BodyError("body ended inside a chunk header")
                size_field = line.split(b";", 1)[0].strip()
                if not _CHUNK_SIZE_RE.fullmatch(size_field):
                    raise BodyError(f"invalid chunk size {size_field[:20]!r}")
                size = int(size_field, 16)
                if size == 0:
                    break
                while size > 0:
                    data = read(min(size, _CHUNK))
                    if not data:
                        raise BodyError("body ended inside a chunk")
                    size -= len(data)
                    self.received += len(data)
                    pending.append(data)
                    pending_size += len(data)
                    if pending_size >= _CHUNK:
                        yield pending[0] if len(pending) == 1 else b"".join(pending)
                        pending, pending_size = [], 0
                if readline(3).strip():
                    raise BodyError("chunk not followed by CRLF")
            while True:  # trailers, ignored, up to the empty line
                line = readline(8192)
                if not line:
                    raise BodyError("body ended inside the trailers")
                if not line.strip():
                    break
        except (BodyError, OSError):
            if pending:
                yield b"".join(pending)
            raise
        if pending:
            yield b"".join(pending)
        self.done = True


@dataclass
class Request:
    """What the app sees of an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: Body
    scheme: str = "http"
    client: str = ""
    query_string: str = ""
    # Set by the app once authenticated (an auth Identity).
    identity: Any = None

    @property
    def base_url(self) -> str:
        """scheme://host[:port] as the client addressed us."""
        return f"{self.scheme}://{self.headers.get('host') or 'localhost'}"


@dataclass
class Response:
    """What the app returns. `file` (with `offset`, `length`) is streamed instead of `body`."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: BinaryIO | None = None
    offset: int = 0
    length: int = 0
    # The connection must close after this response (e.g. the request body was malformed).
    close: bool = False
    # For HEAD answers: the Content-Length a GET would have, with no body at hand.
    head_length: int | None = None

    @property
    def content_length(self) -> int:
        if self.head_length is not None:
            return self.head_length
        return self.length if self.file is not None else len(self.body)


class _Clock:
    """The Date header, formatted once per second."""

    def __init__(self) -> None:
        self._second = 0
        self._value = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._value = formatdate(second, usegmt=True)
            self._second = second
        return self._value


class HTTPServer:
    """A threaded HTTP/1.1 server for one `app(Request) -> Response`, bound at construction.

    `default_headers` go on every response. `idle_timeout` bounds how long a connection may sit
    between requests (or between two reads of a body).
    """

    def __init__(self, address: tuple[str, int], app: Callable[[Request], Response], *,
                 ssl_context: ssl.SSLContext | None = None, idle_timeout: float = 120.0,
                 default_headers: dict[str, str] | None = None,
                 server_header: str = "skiff-registry") -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.idle_timeout = idle_timeout
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family, backlog=1024)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()[:2]
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in
                              {"Server": server_header, **(default_headers or {})}.items())
        self._clock = _Clock()
        self._scheme = "https" if ssl_context else "http"
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._wake_r, self._wake_w = socket.socketpair()

    # -- lifecycle

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept connections until `shutdown()`; each connection gets its own thread."""
        self._stopped.clear()
        selector = selectors.DefaultSelector()
        selector.register(self.socket, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(poll_interval):
                    if key.fileobj is self.socket:
                        self._accept()
        finally:
            selector.close()
            self._stopped.set()

    def _accept(self) -> None:
        while True:
            try:
                conn, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept failed: %s", exc)
                return
            conn.setblocking(True)
            with self._lock:
                self._connections.add(conn)
            threading.Thread(target=self._serve_connection, args=(conn, addr), daemon=True,
                             name=f"registry-conn-{addr[1] if len(addr) > 1 else ''}").start()

    def shutdown(self) -> None:
        """Stop accepting (returns once `serve_forever` has returned)."""
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._stopped.wait(10)

    def close_connections(self) -> None:
        """Shut down every open client connection (their threads then end)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_close(self) -> None:
        """Release the listening socket."""
        for sock in (self.socket, self._wake_r, self._wake_w):
            try:
                sock.close()
            except OSError:
                pass

    # -- one connection

    def _serve_connection(self, conn: socket.socket, addr: Any) -> None:
        sock: socket.socket = conn
        rfile = None
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(self.idle_timeout)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(conn, server_side=True)
            rfile = cast(BinaryIO, sock.makefile("rb", buffering=_READ_BUFFER))  # a BufferedReader
            client = addr[0] if addr else ""
            while not self._stop.is_set() and self._one_request(sock, rfile, client):
                pass
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.debug("connection from %s ended: %s", addr, exc)
        finally:
            with self._lock:
                self._connections.discard(conn)
            for closable in (rfile, sock, conn):
                try:
                    if closable is not None:
                        closable.close()
                except OSError:
                    pass

    def _one_request(self, sock: socket.socket, rfile: BinaryIO, client: str) -> bool:
        """Serve one request; False when the connection must close."""
        line = rfile.readline(_MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # tolerated before a request line (RFC 9112)
            line = rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        if len(line) > _MAX_LINE:
            self._simple(sock, 414)
            return False
        parts = line.split()
        if len(parts) != 3:
            self._simple(sock, 400)
            return False
        method, target, version = (p.decode("latin-1") for p in parts)
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            # 505 only for a version HTTP could have (RFC 9110 15.6.6); anything else is a
            # malformed request line, the client's error.
            self._simple(sock, 505 if _HTTP_VERSION.fullmatch(version) else 400)
            return False
        fields: dict[str, str] = {}
        while True:
            header = rfile.readline(_MAX_LINE + 1)
            if header in (b"\r\n", b"\n"):
                break
            if not header:
                return False
            if len(header) > _MAX_LINE or len(fields) >= _MAX_HEADERS:
                self._simple(sock, 431)
                return False
            name, sep, value = header.partition(b":")
            if not sep:
                self._simple(sock, 400)
                return False
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            fields[key] = f"{fields[key]}, {text}" if key in fields else text
        headers = Headers.__new__(Headers)
        headers._headers = fields
        connection = fields.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection

        path, _, query_string = target.partition("?")
        if "%" in path:
            path = unquote(path)
        query = ({k: v[0] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
                 if query_string else {})
        try:
            body = Body(rfile, headers)
        except BodyError:
            self._simple(sock, 400)
            return False
        if "100-continue" in fields.get("expect", "").lower() and not body.done:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        request = Request(method, path, query, headers, body, self._scheme, client, query_string)
        started = time.perf_counter()
        try:
            response = self.app(request)
        except Exception:  # the app renders its own errors; this is a last resort
            log.exception("%s %s failed", method, path)
            response = Response(500, {"Content-Type": "text/plain"}, b"internal server error",
                                close=True)
        unread = response.close or not body.drain()
        if unread:
            # The body's end is unknown or too far: the next request could not be framed.
            keep_alive = False
        try:
            self._write(sock, method, response, keep_alive, version)
        finally:
            if response.file is not None:
                response.file.close()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %s -> %d in %.1f ms", client, method, target, response.status,
                      (time.perf_counter() - started) * 1000)
        if unread:
            self._linger(sock)
        return keep_alive

    @staticmethod
    def _linger(sock: socket.socket) -> None:
        """Close politely while the client may still be sending: stop writing, then discard
        what arrives for a while, so the client reads our answer instead of a reset."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(_LINGER_SECONDS)
            deadline = time.monotonic() + _LINGER_SECONDS
            discarded = 0
            while time.monotonic() < deadline and discarded < _LINGER_BYTES:
                data = sock.recv(65536)
                if not data:
                    break
                discarded += len(data)
        except (OSError, ValueError):
            pass

    def _write(self, sock: socket.socket, method: str, response: Response, keep_alive: bool,
               version: str) -> None:
        status = response.status
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
                f"Date: {self._clock.now()}\r\n{self._fixed}"]
        for key, value in response.headers.items():
            head.append(f"{key}: {value}\r\n")
        no_body = status == 204 or status == 304 or status < 200
        if not no_body:
            head.append(f"Content-Length: {response.content_length}\r\n")
        if not keep_alive:
            head.append("Connection: close\r\n")
        elif version == "HTTP/1.0":
            head.append("Connection: keep-alive\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1")
        if method == "HEAD" or no_body:
            sock.sendall(data)
        elif response.file is not None:
            sock.sendall(data)
            if response.length:
                sock.sendfile(response.file, response.offset, response.length)
        else:
            sock.sendall(data + response.body if len(response.body) < 262144 else data)
            if len(response.body) >= 262144:
                sock.sendall(response.body)

    def _simple(self, sock: socket.socket, status: int) -> None:
        reason = _REASONS.get(status, "Error")
        body = f"{status} {reason}\n".encode()
        try:
            sock.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
        except OSError:
            pass
