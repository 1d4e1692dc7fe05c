"""A minimal HTTP/1.1 client for the Docker engine's unix socket, over kept-alive connections.

The calls made for every container (create, start, inspect) go through it: the SDK's requests
stack costs about 0.65 ms of client CPU a call on a 2-core machine, this about 0.15 ms, and the
agent competes with dockerd for the CPU while it starts containers. Everything else, and engines
on TCP (with TLS), use the SDK's client.

Contract: `KeepAlive.request` returns the answer's JSON, and raises the SDK's own exceptions
for an error answer (`docker.errors.APIError`, `NotFound`, `ImageNotFound`, as its client
would), `OSError` or `http.client.HTTPException` when dockerd is away; so the adapter classifies
both transports' failures in one place.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

import docker.constants
import docker.errors
import requests

__all__ = ["KeepAlive", "unix_socket_path", "quoted"]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class KeepAlive:
    """Plain HTTP/1.1 on the engine's unix socket, over a pool of kept-alive connections (at
    most `keep` idle ones); safe to share between threads."""

    def __init__(self, socket_path: str, api_version: str, timeout: float, keep: int):
        self._path = socket_path
        self._prefix = f"/v{api_version}"
        self._timeout = timeout
        self._keep = keep  # idle connections kept at most
        self._idle: list[_UnixConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def request(self, method: str, path: str, query: dict[str, str] | None = None,
                body: Any = None) -> Any:
        """The answer's JSON (None when empty); raises docker.errors.APIError (or NotFound,
        ImageNotFound) for an error answer, OSError or HTTPException when dockerd is away."""
        url = self._prefix + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection = self._take()
        for attempt in (1, 2):
            try:
                connection.request(method, url, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                # An idle connection dockerd had closed fails at once: once more, anew.
                # (A create it did carry out then answers 409, which `create` adopts.)
                if attempt == 2 or not isinstance(exc, (ConnectionError,
                                                         http.client.RemoteDisconnected)):
                    raise
                connection = _UnixConnection(self._path, self._timeout)
        self._give_back(connection)
        if response.status >= 400:
            raise _api_error(response.status, data, url)
        return json.loads(data) if data else None

    def _take(self) -> _UnixConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _UnixConnection(self._path, self._timeout)

    def _give_back(self, connection: _UnixConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()


def _api_error(status: int, data: bytes, url: str) -> docker.errors.APIError:
    """The SDK's exception for an error answer, as its own client would raise it."""
    try:
        explanation = str(json.loads(data)["message"])
    except (ValueError, KeyError, TypeError):
        explanation = data.decode(errors="replace").strip()
    response = requests.Response()
    response.status_code, response.url = status, url
    kind = docker.errors.APIError
    if status == 404:
        kind = (docker.errors.ImageNotFound if "no such image" in explanation.lower()
                else docker.errors.NotFound)
    return kind(f"{status} error for {url}", response=response, explanation=explanation)


def quoted(reference: str) -> str:
    """A container id or name as one path segment."""
    return urllib.parse.quote(reference, safe="")


def unix_socket_path(base_url: str | None) -> str | None:
    """The socket's path when `base_url` (None: the default) names a local unix socket."""
    url = base_url or docker.constants.DEFAULT_UNIX_SOCKET
    for scheme in ("unix://", "http+unix://"):
        if url.startswith(scheme):
            return "/" + url[len(scheme):].lstrip("/")
    return None
