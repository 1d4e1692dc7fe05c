"""What every `skiff` client command shares: the API stub, --json, tables, one-line errors."""

from __future__ import annotations

import functools
import json
import socket
import ssl
import sys
from typing import Any, Callable

import click
import grpc

from skiff import ecs_json
from skiffcore.contexts import Context, channel_for
from skiffapi.v1 import controlplane_pb2_grpc

DEFAULT_ENDPOINT = "127.0.0.1:7070"


class Api:
    """A lazily connected ControlPlane stub for one context (endpoint, cluster CA, token)."""

    def __init__(self, context: Context):
        self.context = context
        self.endpoint = context.endpoint
        self._stub: controlplane_pb2_grpc.ControlPlaneStub | None = None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return functools.partial(self.method(name), timeout=30)

    def method(self, name: str) -> Callable[..., Any]:
        """The raw RPC, without the default deadline (for streams that may last)."""
        if self._stub is None:
            self._stub = controlplane_pb2_grpc.ControlPlaneStub(channel_for(self.context))
        return getattr(self._stub, name)


def unreachable_message(api: Api) -> str:
    """Why the control plane did not answer, and what to do."""
    if not api.context.ca and speaks_tls(api.endpoint):
        return (f"the control plane at {api.endpoint} speaks TLS only: run `skiff login "
                f"--endpoint {api.endpoint} --ca CA_FILE --token TOKEN` (after `skiff up` the "
                f"`local` context has them: `skiff context use local`)")
    return (f"control plane at {api.endpoint} is not reachable (start it with `skiff up`, or "
            f"set SKIFF_ENDPOINT); if it speaks TLS with another CA, log in again")


def speaks_tls(endpoint: str) -> bool:
    """Whether the server at `endpoint` completes a TLS handshake (nothing is sent)."""
    host, _, port = endpoint.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=3) as raw, \
                context.wrap_socket(raw, server_hostname=host.strip("[]")):
            return True
    except (OSError, ValueError):
        return False


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def api_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --json and turns gRPC errors into one clear line and a non-zero exit."""

    @click.option("--json", "as_json", is_flag=True, help="Print ECS's JSON response shape.")
    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(api: Api, *args: Any, as_json: bool, **kwargs: Any) -> None:
        try:
            fn(api, *args, as_json=as_json, **kwargs)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                fail(unreachable_message(api))
            fail(exc.details() or exc.code().name)

    return wrapper


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    rows = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for row in [headers] + rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


# -- tasks as tables -----------------------------------------------------------------------

def bindings_text(bindings) -> str:
    return ",".join(f"{b.host_port}->{b.container_port}/{b.protocol}" for b in bindings)


def _ports(t) -> str:
    return bindings_text(b for c in t.containers for b in c.network_bindings)


def task_rows(tasks) -> list[list[Any]]:
    return [[t.task_id, t.task_definition_arn.rsplit("/", 1)[-1], ecs_json.status_name(t.last_status),
             ecs_json.status_name(t.desired_status), t.container_instance_id[:12], _ports(t),
             t.stop_code] for t in tasks]


TASK_HEADERS = ["TASK", "TASKDEF", "LAST", "DESIRED", "INSTANCE", "PORTS", "STOP CODE"]


def print_run(response, as_json: bool) -> None:
    """RunTask's or StartTask's answer; exit 1 when no task was placed."""
    if as_json:
        return print_json({"tasks": [ecs_json.task(t) for t in response.tasks],
                           "failures": [ecs_json.failure(f) for f in response.failures]})
    if response.tasks:
        print_table(TASK_HEADERS, task_rows(response.tasks))
    for f in response.failures:
        click.echo(f"failure: {f.reason}: {f.detail}", err=True)
    if not response.tasks:
        sys.exit(1)
