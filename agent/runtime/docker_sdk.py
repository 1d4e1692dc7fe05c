"""The node agent's Docker adapter: `DockerRuntime`, the `ContainerRuntime` that drives a real
Docker engine through the `docker` SDK.

It turns the engine-facing types (`agent.runtime.model`) into Docker Engine API calls and
Docker's answers back into them, so nothing outside `agent.runtime` sees a `docker` type
(STYLE.md, "each third-party SDK imported in exactly one module"). It holds:

* the mapping from a task definition's container fields to Docker's create parameters, and
  from inspect's answer to `ContainerState`;
* adoption (DESIGN.md invariant 5): a container is created under its deterministic name, so an
  agent that crashed between "create" and "remember" finds it again, by name on `create`
  (Docker answers 409 Conflict for a second container of that name) or by label in
  `list_containers`;
* the reading of the SDK's exceptions, classified by the table in `agent.runtime.errors`;
* the choice of transport: the calls made for every container (create, start, inspect) go over
  the kept-alive unix socket (`agent.runtime.unix_http`), the rest and engines on TCP through
  the SDK's client.

Example::

    runtime = DockerRuntime()
    spec = ContainerSpec(task_id=uuid.uuid4().hex, container_name="web", cluster="default",
                         instance_id="i-1", image="127.0.0.1:5000/web:1",
                         port_mappings=(PortSpec(container_port=80, host_port=0),))
    if not runtime.image_present(spec.image):
        runtime.pull(spec.image)
    container_id = runtime.create(spec).container_id   # the same one if it already exists
    runtime.start(container_id)
    runtime.inspect(container_id).network_bindings   # the host port Docker chose
"""

from __future__ import annotations

import http.client
import math
import threading
from typing import Any, Callable, TypeVar

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from agent.runtime import errors
from agent.runtime.errors import ContainerNotFound, ContainerRuntimeError, RuntimeUnavailable
from agent.runtime.model import (LABEL_CLUSTER, LABEL_CONTAINER_NAME, LABEL_HOST_PORTS,
                                 LABEL_INSTANCE, LABEL_TASK_ID, ContainerSpec, ContainerState,
                                 HealthCheck, NetworkBinding, docker_container_name)
from agent.runtime.unix_http import KeepAlive, quoted, unix_socket_path

__all__ = ["DockerRuntime", "SdkStream"]

_NETWORK_MODES = ("bridge", "host", "none")
_NEVER = "0001-01-01T00:00:00Z"  # Docker's zero time: "not started" / "not finished"
_MIB = 1024 * 1024
_MIN_CPU_SHARES = 2  # as the ECS agent: 0 would mean Docker's default of 1024 shares
# Connections kept to the engine: the task engine has up to 64 creates and starts in flight,
# besides inspects and stops. Beyond the pool every call would open and drop a connection
# (docker-py keeps 10).
_POOL_SIZE = 128
_NS = 1_000_000_000

T = TypeVar("T")

# Errors of the connection to dockerd itself (socket gone, refused, timed out, cut mid-stream).
_TRANSPORT_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                     requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError,
                     http.client.HTTPException, OSError)
# What the SDK and its transport (or KeepAlive) raise; anything else (TypeError, ...) is a bug
# and propagates.
_SDK_ERRORS: tuple[type[Exception], ...] = (
    docker.errors.DockerException, requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
# The SDK's "not found" that `errors.WHEN_NOT_FOUND` speaks of, where it is not any 404.
_NOT_FOUND = {"create": docker.errors.ImageNotFound}


def _is_transport_error(exc: BaseException) -> bool:
    """True when `exc` or one of its causes is a failure to talk to dockerd at all."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, docker.errors.APIError):
            return False  # dockerd answered
        if isinstance(current, _TRANSPORT_ERRORS):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return f"{exc.status_code}: {exc.explanation}"
    return str(exc) or type(exc).__name__


def _classify(exc: BaseException, what: str) -> ContainerRuntimeError:
    """The general rule: 5xx and transport failures are retriable, the rest is not."""
    if isinstance(exc, ContainerRuntimeError):
        return exc
    message = f"{what}: {_describe(exc)}"
    if isinstance(exc, docker.errors.APIError):
        return errors.answered(exc.status_code, message)
    if _is_transport_error(exc):
        return errors.unanswered(message)
    return ContainerRuntimeError(message)


def _failure(operation: str, exc: BaseException, what: str) -> ContainerRuntimeError | None:
    """`operation`'s failure as the runtime raises it, by the table in `agent.runtime.errors`;
    None when it counts as done."""
    if (operation in errors.WHEN_NOT_FOUND
            and isinstance(exc, _NOT_FOUND.get(operation, docker.errors.NotFound))):
        return errors.not_found(operation, f"{what}: {_describe(exc)}")
    if isinstance(exc, docker.errors.APIError):
        if (operation == "remove" and exc.status_code == 409
                and errors.REMOVAL_IN_PROGRESS in str(exc.explanation)):
            return None
        if operation == "pull":
            return errors.pull_failed(str(exc.explanation or exc), what, exc.status_code)
    return _classify(exc, what)


def _error(operation: str, exc: BaseException, what: str) -> ContainerRuntimeError:
    """`_failure` of an operation whose failure never counts as done (all but remove)."""
    error = _failure(operation, exc, what)
    if error is None:
        raise AssertionError(f"{operation} failed but counts as done")
    return error


# --- Docker's shapes -------------------------------------------------------------------------

def _port_key(container_port: int, protocol: str) -> str:
    return f"{container_port}/{protocol.lower()}"


def _labels(spec: ContainerSpec) -> dict[str, str]:
    """The user's docker labels, then Skiff's own (which a user label cannot override)."""
    labels = dict(spec.docker_labels)
    labels.update({
        LABEL_TASK_ID: spec.task_id,
        LABEL_CONTAINER_NAME: spec.container_name,
        LABEL_CLUSTER: spec.cluster,
        LABEL_INSTANCE: spec.instance_id,
    })
    if spec.network_mode == "host" and spec.port_mappings:
        labels[LABEL_HOST_PORTS] = ",".join(
            _port_key(p.container_port, p.protocol) for p in spec.port_mappings)
    else:
        labels.pop(LABEL_HOST_PORTS, None)
    return labels


def _parse_port_key(key: str) -> tuple[int, str] | None:
    port, _, protocol = key.partition("/")
    try:
        return int(port), (protocol or "tcp")
    except ValueError:
        return None


def _bridge_bindings(ports: dict[str, Any] | None) -> tuple[NetworkBinding, ...]:
    """Bindings from inspect's NetworkSettings.Ports, one per host port, IPv4 preferred.

    Docker lists a dynamic mapping once for 0.0.0.0 and once for ::; the IPv6 entries of a
    (container_port, protocol) are dropped when it has an IPv4 one.
    """
    bindings: list[NetworkBinding] = []
    for key, entries in sorted((ports or {}).items()):
        parsed = _parse_port_key(key)
        if parsed is None or not entries:
            continue  # exposed but not published
        container_port, protocol = parsed
        candidates = []
        for entry in entries:
            try:
                host_port = int(entry.get("HostPort") or 0)
            except ValueError:
                continue
            if host_port:
                candidates.append((entry.get("HostIp") or "0.0.0.0", host_port))
        ipv4 = [c for c in candidates if ":" not in c[0]]
        chosen = ipv4 or candidates
        # 0.0.0.0 first, then by host port; one binding per host port.
        chosen.sort(key=lambda c: (c[0] != "0.0.0.0", c[1], c[0]))
        seen: set[int] = set()
        for bind_ip, host_port in chosen:
            if host_port in seen:
                continue
            seen.add(host_port)
            bindings.append(NetworkBinding(bind_ip=bind_ip, container_port=container_port,
                                           host_port=host_port, protocol=protocol))
    return tuple(bindings)


def _host_bindings(label: str | None) -> tuple[NetworkBinding, ...]:
    bindings = []
    for key in (label or "").split(","):
        parsed = _parse_port_key(key.strip()) if key.strip() else None
        if parsed is not None:
            port, protocol = parsed
            bindings.append(NetworkBinding(bind_ip="0.0.0.0", container_port=port,
                                           host_port=port, protocol=protocol))
    return tuple(bindings)


def _healthcheck(check: HealthCheck | None) -> dict[str, Any] | None:
    """Docker's Healthcheck config (durations in nanoseconds; Docker takes 0 or >= 1 ms)."""
    if check is None:
        return None

    def ns(seconds: float) -> int:
        return max(int(seconds * _NS), 1_000_000) if seconds > 0 else 0

    return {"test": list(check.test), "interval": ns(check.interval), "timeout": ns(check.timeout),
            "retries": check.retries, "start_period": ns(check.start_period)}


def _time(value: str | None) -> str | None:
    return None if not value or value == _NEVER else value


def _state_from_inspect(attrs: dict[str, Any]) -> ContainerState:
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    state = attrs.get("State") or {}
    status = state.get("Status") or ""
    network_mode = (attrs.get("HostConfig") or {}).get("NetworkMode") or ""
    if network_mode == "host":
        # Docker reports nothing for host mode; the ports are the container's own, always.
        bindings = _host_bindings(labels.get(LABEL_HOST_PORTS))
    else:
        bindings = _bridge_bindings((attrs.get("NetworkSettings") or {}).get("Ports"))
    exit_code = state.get("ExitCode") if status in ("exited", "dead") else None
    stop_timeout = config.get("StopTimeout")
    return ContainerState(
        container_id=attrs["Id"],
        name=(attrs.get("Name") or "").lstrip("/"),
        task_id=labels.get(LABEL_TASK_ID, ""),
        container_name=labels.get(LABEL_CONTAINER_NAME, ""),
        status=status,
        exit_code=int(exit_code) if exit_code is not None else None,
        network_bindings=bindings,
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        health=(state.get("Health") or {}).get("Status") or None,
        stop_timeout=int(stop_timeout) if stop_timeout is not None else None,
    )


# --- the adapter -----------------------------------------------------------------------------

class SdkStream:
    """A long Docker answer (log chunks, events) read as it comes; `close()` ends it from
    another thread. Satisfies `agent.runtime.api.Stream`."""

    def __init__(self, stream: Any, what: str):
        self._stream = stream
        self._what = what

    def __iter__(self):
        try:
            for chunk in self._stream:
                yield chunk
        except _SDK_ERRORS as exc:
            raise _classify(exc, self._what) from exc
        except (OSError, ValueError, AttributeError):
            return  # closed under us: the reader asked to stop

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # already closed or broken: either way it ends
                pass


class DockerRuntime:
    """Container operations on one Docker engine, with errors classified.

    Safe to share between threads (the SDK's HTTP session pools its connections). The connection
    is opened on first use, so an agent can be constructed while dockerd is still starting:
    `ping()` answers False and the other methods raise `RuntimeUnavailable` until it is up.
    """

    def __init__(self, base_url: str | None = None, timeout: float = 60):
        """`base_url` None means what `docker.from_env()` uses: DOCKER_HOST (and its TLS
        settings) when set, else unix:///var/run/docker.sock. `timeout` bounds each API call
        (a pull's stream and a stop's grace period are added to it)."""
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.APIClient | None = None
        self._keepalive: KeepAlive | None = None  # when dockerd is on a local unix socket
        self._lock = threading.Lock()

    # The SDK's client, connected lazily; "auto" asks the daemon for its API version.
    def _api(self) -> docker.APIClient:
        with self._lock:
            if self._client is None:
                if self._base_url is None:
                    kwargs = docker.utils.kwargs_from_env()
                else:
                    kwargs = {"base_url": self._base_url}
                client = docker.APIClient(version="auto", timeout=self._timeout,
                                          max_pool_size=_POOL_SIZE, **kwargs)
                # No proxy or .netrc look-ups (requests reads the environment and stats files
                # on every call otherwise): the engine's socket is never behind a proxy.
                client.trust_env = False
                path = unix_socket_path(kwargs.get("base_url"))
                self._keepalive = (KeepAlive(path, client.api_version, self._timeout, _POOL_SIZE)
                                   if path else None)
                self._client = client
            return self._client

    def _clients(self) -> tuple[docker.APIClient, KeepAlive | None]:
        """The SDK's client and, when dockerd is local, the kept-alive socket for the calls
        made for every container."""
        api = self._api()
        return api, self._keepalive

    def _call(self, what: str, fn: Callable[[docker.APIClient], T]) -> T:
        try:
            return fn(self._api())
        except _SDK_ERRORS as exc:
            raise _classify(exc, what) from exc

    def ping(self) -> bool:
        """True when the daemon answers."""
        try:
            return bool(self._api().ping())
        except _SDK_ERRORS:
            return False

    def image_present(self, image: str) -> bool:
        """True when `image` (a reference; no tag means latest) is in the local image store."""
        try:
            self._api().inspect_image(image)
        except docker.errors.NotFound:
            return False
        except _SDK_ERRORS as exc:
            raise _classify(exc, f"inspect image {image}") from exc
        return True

    def pull(self, image: str, auth: dict | None = None) -> None:
        """Pull `image` (tag defaults to latest; "repo@sha256:..." pulls by digest).

        `auth` is Docker's auth config ({"username", "password"} or {"identitytoken"}); None uses
        the daemon host's docker config. Raises ImageNotFound when the registry has no such
        repository or tag, RuntimeUnavailable when dockerd or the registry is unreachable or
        failed, ContainerRuntimeError when access is refused or the reference is invalid.
        """
        what = f"pull {image}"
        try:
            stream = self._api().pull(image, stream=True, decode=True, auth_config=auth)
            for message in stream:
                # A pull that fails after it began still answers 200: the error is in the stream.
                if isinstance(message, dict) and (message.get("error")
                                                  or message.get("errorDetail")):
                    detail = message.get("errorDetail") or {}
                    text = str(message.get("error") or detail.get("message") or message)
                    raise errors.pull_failed(text, what, None)
        except _SDK_ERRORS as exc:
            raise _error("pull", exc, what) from exc

    def create(self, spec: ContainerSpec) -> ContainerState:
        """Create (not start) the container for `spec`; return its state ("created").

        The name is `docker_container_name(spec.task_id, spec.container_name)`. When a container
        of that name exists already, its state is returned instead, whatever it is (adoption
        after a crash between create and remember); never a duplicate. Raises ImageNotFound
        when the image is not present locally (pull first), ContainerRuntimeError when the name
        is taken by a container of another task.
        """
        if spec.network_mode not in _NETWORK_MODES:
            raise ValueError(f"network_mode {spec.network_mode!r}: expected one of "
                             f"{', '.join(_NETWORK_MODES)}")
        name = docker_container_name(spec.task_id, spec.container_name)
        what = f"create {name}"
        for _ in range(3):  # the existing container may vanish between 409 and inspect
            try:
                return self._create(spec, name)
            except _SDK_ERRORS as exc:
                if not (isinstance(exc, docker.errors.APIError) and exc.status_code == 409
                        and errors.NAME_IN_USE in str(exc.explanation)):
                    raise _error("create", exc, what) from exc
            try:
                existing = self.inspect(name)
            except ContainerNotFound:
                continue
            if existing.task_id != spec.task_id or existing.container_name != spec.container_name:
                raise ContainerRuntimeError(
                    f"{what}: the name is taken by container {existing.container_id} "
                    f"(task {existing.task_id!r}, container {existing.container_name!r})")
            return existing
        raise RuntimeUnavailable(f"{what}: the name stays taken but the container is not found")

    def _create(self, spec: ContainerSpec, name: str) -> ContainerState:
        api, keepalive = self._clients()
        port_bindings: dict[str, list[int | None]] = {}
        exposed: list[tuple[int, str]] = []
        if spec.network_mode == "bridge":
            for mapping in spec.port_mappings:
                protocol = mapping.protocol.lower()
                key = _port_key(mapping.container_port, protocol)
                port_bindings.setdefault(key, []).append(mapping.host_port or None)
                if (mapping.container_port, protocol) not in exposed:
                    exposed.append((mapping.container_port, protocol))
        host_config = api.create_host_config(
            network_mode=spec.network_mode,
            port_bindings=port_bindings or None,
            cpu_shares=max(spec.cpu, _MIN_CPU_SHARES),
            mem_limit=spec.memory * _MIB if spec.memory else None,
            mem_reservation=spec.memory_reservation * _MIB if spec.memory_reservation else None,
            init=True if spec.init else None,
        )
        labels = _labels(spec)
        # The config alone (create_container would add the client's proxy variables): the
        # environment is exactly the task definition's.
        config = api.create_container_config(
            image=spec.image,
            # Only when given, so the image's own ENTRYPOINT / CMD apply otherwise.
            entrypoint=list(spec.entry_point) or None,
            command=list(spec.command) or None,
            environment=[f"{key}={value}" for key, value in (*spec.environment, *spec.secrets)]
            or None,
            working_dir=spec.working_directory or None,
            ports=exposed or None,
            labels=labels,
            host_config=host_config,
            healthcheck=_healthcheck(spec.healthcheck),
            stop_timeout=spec.stop_timeout,
        )
        if keepalive is not None:
            result = keepalive.request("POST", "/containers/create", {"name": name}, config)
        else:
            result = api.create_container_from_config(config, name)
        # What an inspect would say of a container just created: no need to ask.
        bindings = (_host_bindings(labels.get(LABEL_HOST_PORTS)) if spec.network_mode == "host"
                    else ())
        return ContainerState(container_id=result["Id"], name=name, task_id=spec.task_id,
                              container_name=spec.container_name, status="created",
                              exit_code=None, network_bindings=bindings, started_at=None,
                              finished_at=None, stop_timeout=spec.stop_timeout)

    def start(self, container_id: str) -> None:
        """Start the container; starting a running one is fine. Raises ContainerNotFound."""
        what = f"start {container_id}"
        try:
            api, keepalive = self._clients()
            if keepalive is not None:
                keepalive.request("POST", f"/containers/{quoted(container_id)}/start")
            else:
                api.start(container_id)
        except _SDK_ERRORS as exc:
            raise _error("start", exc, what) from exc

    def logs(self, container_id: str, follow: bool = False, since: float | None = None,
             tail: int | None = None) -> SdkStream:
        """The container's output (stdout and stderr as Docker stores them), as chunks of bytes.
        With `follow` it goes on until the container stops or `close()` is called."""
        what = f"logs of {container_id}"
        kwargs: dict[str, Any] = {"stream": True, "follow": follow, "stdout": True, "stderr": True}
        if since:
            kwargs["since"] = int(since)
        if tail:
            kwargs["tail"] = tail
        stream = self._call(what, lambda api: api.logs(container_id, **kwargs))
        return SdkStream(stream, what)

    def events(self, instance_id: str) -> SdkStream:
        """Docker's events for this instance's containers (start, die, health_status, ...), as
        dicts with the container's labels under Actor.Attributes, until `close()`."""
        filters = {"type": ["container"], "label": [f"{LABEL_INSTANCE}={instance_id}"]}
        what = "events"
        return SdkStream(self._call(what, lambda api: api.events(decode=True, filters=filters)), what)

    def stop(self, container_id: str, timeout: float) -> None:
        """SIGTERM (the image's stop signal), then SIGKILL after `timeout` seconds (rounded up).

        A container that is already stopped, or gone, counts as stopped.
        """
        what = f"stop {container_id}"
        grace = max(0, math.ceil(timeout))
        try:
            self._api().stop(container_id, timeout=grace)
        except _SDK_ERRORS as exc:
            error = _failure("stop", exc, what)
            if error is not None:
                raise error from exc

    def remove(self, container_id: str) -> None:
        """Remove the container, killing it if it runs. Gone already (or going) counts as done."""
        what = f"remove {container_id}"
        try:
            self._api().remove_container(container_id, force=True)
        except _SDK_ERRORS as exc:
            error = _failure("remove", exc, what)
            if error is not None:
                raise error from exc

    def inspect(self, container_id: str) -> ContainerState:
        """The container's state (by id or name). Raises ContainerNotFound."""
        what = f"inspect {container_id}"
        try:
            api, keepalive = self._clients()
            if keepalive is not None:
                attrs = keepalive.request("GET", f"/containers/{quoted(container_id)}/json")
            else:
                attrs = api.inspect_container(container_id)
        except _SDK_ERRORS as exc:
            raise _error("inspect", exc, what) from exc
        return _state_from_inspect(attrs)

    def list_containers(self, instance_id: str | None = None) -> list[ContainerState]:
        """All Skiff containers (stopped ones too), only `instance_id`'s when given.

        Used to adopt containers after an agent restart. Several agents may share one engine;
        each passes its own instance id and so sees only its own containers.
        """
        label_filters = [LABEL_TASK_ID]
        if instance_id is not None:
            label_filters.append(f"{LABEL_INSTANCE}={instance_id}")
        summaries = self._call(
            "list containers",
            lambda api: api.containers(all=True, filters={"label": label_filters}))
        states = []
        for summary in summaries:
            try:
                states.append(self.inspect(summary["Id"]))
            except ContainerNotFound:
                continue  # removed between the list and the inspect
        return states

    def container_summaries(self, instance_id: str) -> list[tuple[str, str, str]]:
        """(container id, task id, Docker state) of the instance's containers, from one list
        call (no inspect per container: cheap enough to run often)."""
        summaries = self._call("list containers", lambda api: api.containers(
            all=True, filters={"label": [LABEL_TASK_ID, f"{LABEL_INSTANCE}={instance_id}"]}))
        return [(s["Id"], (s.get("Labels") or {}).get(LABEL_TASK_ID, ""), s.get("State", ""))
                for s in summaries]

    def close(self) -> None:
        """Close the connection pool; the runtime reconnects if used again."""
        with self._lock:
            client, self._client = self._client, None
            keepalive, self._keepalive = self._keepalive, None
        if keepalive is not None:
            keepalive.close()
        if client is not None:
            client.close()
