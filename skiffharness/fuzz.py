"""Seeded fuzzing of Skiff's doors: the control plane's gRPC services and the registry's HTTP API.

Every case is made from one `random.Random(seed)`, so a seed replays the same requests. The gRPC
cases are requests of every method of ControlPlane and AgentService, filled by reflection over
the request's descriptor (so a method added later is fuzzed too) with hostile values: empty,
long and non-ASCII strings, names and ARNs, integer extremes, lists of 0 to 10,000 entries, and
ECS task definitions mutated from a valid one (deep nesting, huge strings, wrong types, 10,000
containers, broken JSON). The registry cases are manifests, digests, names, upload and admin
requests mutated the same way, plus raw malformed HTTP.

A door passes when no answer is gRPC UNKNOWN or INTERNAL and no HTTP answer is a 5xx: bad input
is always the caller's error, named as such.

    targets = GrpcTargets.connect(endpoint, admin_context, cluster, image)
    tally = run_grpc(targets, grpc_cases(seed=1, count=300, cluster=cluster, image=image))
    assert not tally.failures()
"""

from __future__ import annotations

import copy
import http.client
import json
import random
import re
import socket
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

import grpc
from google.protobuf.descriptor import FieldDescriptor  # type: ignore[import-untyped]
from google.protobuf.message import Message  # type: ignore[import-untyped]

from skiffapi.v1 import agent_pb2, agent_pb2_grpc, controlplane_pb2, controlplane_pb2_grpc
from skiffcore import pki
from skiffcore.contexts import Context, channel_for

__all__ = ["BAD_GRPC_CODES", "GrpcCase", "GrpcTargets", "HttpCase", "Tally", "grpc_cases",
           "registry_cases", "registry_failure", "run_grpc", "run_registry", "task_definition_text"]

BAD_GRPC_CODES = frozenset({"UNKNOWN", "INTERNAL"})
# Methods whose cases could lock the fuzzing caller out or other callers in (a rotated join
# token or the caller's own token): they get only harmless requests.
_SELF_HARM = {"RotateUserToken", "DeleteUser", "GetJoinToken"}

# ---------------------------------------------------------------------------------------------
# Values.

_UNICODE = ["ünïcødé", "☃", "𝄞𝄞", "名字", "\u202eevil", "\u0000", "e\u0301", "\ufeff", "🐳" * 40]
_PATHLIKE = ["../../etc/passwd", "a/b/c", "/", "//", ".", "..", "arn:aws:ecs:us-east-1:0:cluster/x",
             "arn:aws:ecs:::task-definition/fuzz-web:1", "fuzz-web:0", "fuzz-web:-1",
             "fuzz-web:99999999999999999999", "fuzz-web:1:2", ":", "a:b"]
_FORMATS = ["%s%n%x", "{}", "{0}", "${HOME}", "'; DROP TABLE x; --", "<script>", "\\", '"']
_JSONISH = ["{}", "[", "null", "[[[[[[[[", '{"a":', "1e999", "NaN"]
_CONTROL = [" ", "\n", "\t", "\x7f", "\r\n", "a b", " default"]
_NUMBERS = ["-1", "0", "1", "4294967296", "1.5", "0x10", "1e3"]


def _unicode_text(rng: random.Random, length: int) -> str:
    out: list[str] = []
    while len(out) < length:
        point = rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0xa0, 0xd800),
                            rng.randrange(0xe000, 0x110000)])
        out.append(chr(point))
    return "".join(out)


def text(rng: random.Random, valid: Iterable[str] = (), short: bool = False) -> str:
    """A hostile string, or (a third of the time) one of `valid`; `short` ones (for lists of
    many) stay under a few hundred characters."""
    valid = list(valid)
    if valid and rng.random() < 0.33:
        return rng.choice(valid)
    kind = rng.randrange(10)
    if kind == 0:
        return ""
    if kind == 1:
        return rng.choice("xA_-9") * rng.choice([128, 129, 255, 256] if short else
                                                [128, 256, 1000, 10_000, 100_000])
    if kind == 2:
        return rng.choice(_UNICODE)
    if kind == 3:
        return rng.choice(_PATHLIKE)
    if kind == 4:
        return rng.choice(_FORMATS + _JSONISH)
    if kind == 5:
        return rng.choice(_CONTROL + _NUMBERS)
    if kind == 6:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 300)))
    if kind == 7:
        return _unicode_text(rng, rng.randrange(1, 60))
    if kind == 8:
        return f"fuzz-{rng.randrange(1000)}"
    return rng.choice(["a", "A-b_c", "x" * 255, "default-ish", "0"])


def integer(rng: random.Random, bits: int = 32) -> int:
    top = 2 ** (bits - 1)
    return rng.choice([0, 1, -1, 2, 10, 11, 100, 101, 255, 256, 1000, 3600, 3601, 65535, 65536,
                       top - 1, -top, rng.randrange(-top, top)])


def count(rng: random.Random) -> int:
    """How many entries a list gets: mostly a few, sometimes far too many."""
    return rng.choice([0, 0, 1, 1, 2, 3, 10, 11, 50, 101, 1000, 10_000])


# ---------------------------------------------------------------------------------------------
# ECS task definitions.

def base_task_definition(image: str) -> dict[str, Any]:
    """A valid task definition using most of what Skiff applies."""
    return {
        "family": "fuzz-web", "networkMode": "bridge", "cpu": "256", "memory": "512",
        "containerDefinitions": [
            {"name": "web", "image": image, "essential": True, "memory": 64, "cpu": 128,
             "command": ["sh", "-c", "sleep 1"], "entryPoint": [], "workingDirectory": "/",
             "environment": [{"name": "A", "value": "1"}],
             "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
             "dockerLabels": {"team": "fuzz"}, "linuxParameters": {"initProcessEnabled": True},
             "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10, "retries": 2},
             "stopTimeout": 10, "restartPolicy": {"enabled": True, "ignoredExitCodes": [0]}},
            {"name": "side", "image": image, "essential": False, "memoryReservation": 32,
             "dependsOn": [{"containerName": "web", "condition": "START"}],
             "logConfiguration": {"logDriver": "json-file"}}],
        "placementConstraints": [{"type": "memberOf",
                                  "expression": "attribute:ecs.os-type == linux"}],
        "tags": [{"key": "k", "value": "v"}],
    }


_DEEP, _BIGNUM = "@@deep@@", "@@bignum@@"  # placeholders expanded in the JSON text
_PLACEHOLDER = re.compile(r'"@@(deep|bignum)@@(\d+)"')


def json_value(rng: random.Random, image: str = "busybox") -> Any:
    """A JSON value of any type, often hostile."""
    kind = rng.randrange(12)
    if kind == 0:
        return _DEEP + str(rng.choice([5, 31, 32, 33, 100, 1000, 100_000]))
    if kind == 1:
        return text(rng)
    if kind == 2:
        return rng.choice([0, -1, 1, 2 ** 31, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, 65536])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, 1e-308, 3.0])
    if kind == 4:
        return rng.choice([True, False, None])
    if kind == 5:
        return []
    if kind == 6:
        return {}
    if kind == 7:
        return [text(rng, short=True) for _ in range(count(rng))]
    if kind == 8:
        return {text(rng, short=True): text(rng, short=True) for _ in range(count(rng))}
    if kind == 9:
        return _BIGNUM + str(rng.choice([20, 400, 4300, 5000, 100_000]))
    if kind == 10:
        return image
    return [{"name": text(rng, short=True), "value": text(rng, short=True)}
            for _ in range(count(rng))]


def _nodes(value: Any) -> list[tuple[tuple, Any]]:
    """(path, value) of `value` and what it holds: of a long list only the first entries (a
    mutation aims there; walking 10,000 containers each time would be slow)."""
    found: list[tuple[tuple, Any]] = []
    pending: list[tuple[tuple, Any]] = [((), value)]
    while pending:
        path, node = pending.pop()
        found.append((path, node))
        if isinstance(node, dict):
            pending.extend(((*path, k), v) for k, v in list(node.items())[:20])
        elif isinstance(node, list):
            pending.extend(((*path, i), v) for i, v in enumerate(node[:20]))
    found.sort(key=lambda item: len(item[0]))  # the root first
    return found


def _parent(document: Any, path: tuple) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _mutate(rng: random.Random, document: dict[str, Any], image: str) -> Any:
    nodes = _nodes(document)
    keyed = [p for p, _ in nodes[1:] if isinstance(p[-1], str)]
    strings = [p for p, v in nodes if isinstance(v, str)]
    kind = rng.randrange(7)
    if kind in (0, 1) and not keyed or kind == 6 and not strings:
        kind = 5
    if kind == 0:  # replace a value anywhere
        path, _ = rng.choice(nodes[1:])
        _parent(document, path)[path[-1]] = json_value(rng, image)
    elif kind == 1:  # drop a key
        path = rng.choice(keyed)
        del _parent(document, path)[path[-1]]
    elif kind == 2:  # add a key to an object
        objects = [v for _, v in nodes if isinstance(v, dict)]
        rng.choice(objects)[rng.choice([text(rng), "volumes", "secrets", "hostname"])] = \
            json_value(rng, image)
    elif kind == 3:  # many containers
        template = document["containerDefinitions"][0] if isinstance(
            document.get("containerDefinitions"), list) and document["containerDefinitions"] else {}
        if len(json.dumps(template)) > 2000:  # copies of a huge one would make gigabytes
            template = {"name": "c", "image": image, "memory": 6}
        many = rng.choice([10, 11, 100, 10_000])
        document["containerDefinitions"] = [
            dict(copy.deepcopy(template), name=f"c{i}") if isinstance(template, dict) else template
            for i in range(many)]  # copies: growing one container's list must not grow all
    elif kind == 4:  # grow a list in place
        _grow(rng, nodes)
    elif kind == 5:  # a whole different document
        return json_value(rng, image)
    else:  # a string field becomes huge or strange
        path = rng.choice(strings)
        _parent(document, path)[path[-1]] = text(rng)
    return document


def _grow(rng: random.Random, nodes: list[tuple[tuple, Any]]) -> None:
    """Repeat the first entry of a list (a small one: the count is the point, not the size)."""
    lists = [v for _, v in nodes if isinstance(v, list) and v and len(json.dumps(v[0])) < 2000]
    if lists:
        chosen = rng.choice(lists)
        chosen.extend(copy.deepcopy(chosen[0]) for _ in range(count(rng)))


def _render(rng: random.Random, document: Any) -> str:
    """JSON text, with the placeholders for deep nesting and huge numbers expanded (the json
    module could write neither)."""
    out = json.dumps(document, ensure_ascii=rng.random() < 0.5)

    expanded = 0

    def expand(match: re.Match[str]) -> str:
        nonlocal expanded
        expanded += 1
        if expanded > 3:  # copies of one in a long list would make gigabytes
            return "1"
        size = int(match.group(2))
        if match.group(1) == "bignum":
            return "9" * size
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        return opener * size + "1" + closer * size

    return _PLACEHOLDER.sub(expand, out)


def task_definition_text(rng: random.Random, image: str) -> str:
    """The JSON text of a mutated ECS task definition (sometimes broken as text too)."""
    document: Any = base_task_definition(image)
    for _ in range(rng.choice([1, 1, 2, 3])):
        if not isinstance(document, dict):
            break
        document = _mutate(rng, document, image)
    out = _render(rng, document)
    damage = rng.randrange(10)
    if damage == 0 and out:
        out = out[:rng.randrange(len(out))]
    elif damage == 1 and out:
        at = rng.randrange(len(out))
        out = out[:at] + rng.choice(["\x00", "\\", '"', "\ufeff", "}", "NaN", "Infinity"]) + out[at:]
    elif damage == 2:
        out = rng.choice(['{"family": "a", "family": "b"}', "\ufeff{}", "", " ", "[]",
                          '{"containerDefinitions": [' + "1," * 20000 + "1]}"])
    return out


# ---------------------------------------------------------------------------------------------
# gRPC requests, by reflection.

@dataclass
class GrpcCase:
    service: str  # ControlPlane | AgentService | JoinService
    method: str
    request: Message | list[Message]  # a list for a client stream

    def describe(self) -> str:
        shown = str(self.request)
        return f"{self.service}.{self.method} {shown[:300]}{'…' if len(shown) > 300 else ''}"


@dataclass
class _Known:
    """Names worth aiming at: the cases hit existing objects as well as missing ones."""

    cluster: str
    image: str
    instance_id: str = "{instance}"  # filled in by GrpcTargets once the fuzzing node joined
    families: tuple[str, ...] = ("fuzz-web", "fuzz-web:1", "fuzz-valid")
    services: tuple[str, ...] = ("fuzz-svc",)

    def for_field(self, name: str) -> list[str]:
        if name in ("cluster", "cluster_name"):
            return [self.cluster]
        if name in ("task_definition", "family", "family_prefix"):
            return list(self.families)
        if name in ("service", "service_name"):
            return list(self.services)
        if name in ("instance_id", "container_instance", "container_instances", "target_id"):
            return [self.instance_id]
        if name == "status":
            return ["ACTIVE", "DRAINING", "INACTIVE", "ALL"]
        if name == "desired_status":
            return ["RUNNING", "PENDING", "STOPPED"]
        if name == "scheduling_strategy":
            return ["REPLICA", "DAEMON"]
        if name == "role":
            return ["viewer", "operator", "admin"]
        if name == "type":
            return ["distinctInstance", "memberOf", "binpack", "spread", "random"]
        if name == "field":
            return ["cpu", "memory", "instanceId", "attribute:ecs.availability-zone"]
        if name == "expression":
            return ["attribute:ecs.os-type == linux", "attribute:x =~ a*", "(((((", "not"]
        if name == "name":
            return ["CPU", "MEMORY", "fuzz-node", "ecs.custom", "web"]
        return []


def _fill(rng: random.Random, message: Message, known: _Known, depth: int = 0,
          short: bool = False) -> None:
    for fd in message.DESCRIPTOR.fields:
        if rng.random() < 0.25:
            continue  # left unset
        if fd.name == "task_definition_json":
            setattr(message, fd.name, task_definition_text(rng, known.image))
            continue
        repeated = fd.is_repeated
        n = count(rng) if repeated else 1
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if depth > 3:
                continue
            if repeated:  # many entries only at the top: nested lists multiply
                container = getattr(message, fd.name)
                for _ in range(n if depth == 0 else min(n, 3)):
                    _fill(rng, container.add(), known, depth + 1, short or n > 10)
            else:
                _fill(rng, getattr(message, fd.name), known, depth + 1, short)
            continue
        if n > 100:  # a long list of short strings: the count is the point, not the size
            values = [f"{fd.name}-{i}" if fd.type == FieldDescriptor.TYPE_STRING
                      else _scalar(rng, fd, known, True) for i in range(n)]
        else:
            values = [_scalar(rng, fd, known, short or n > 10) for _ in range(n)]
        if repeated:
            getattr(message, fd.name).extend(values)
        else:
            setattr(message, fd.name, values[0])


def _scalar(rng: random.Random, fd: FieldDescriptor, known: _Known, short: bool) -> Any:
    if fd.type == FieldDescriptor.TYPE_STRING:
        return text(rng, known.for_field(fd.name), short)
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return rng.choice([b"", b"\x00" * 10, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
                           rng.randbytes(rng.choice([1, 100] if short else [1, 100, 10_000])),
                           pki.csr_for(pki.new_key(), "fuzz")])
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return rng.choice([v.number for v in fd.enum_type.values] + [99, -1])
    if fd.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64,
                   FieldDescriptor.TYPE_SFIXED64):
        return integer(rng, 64)
    if fd.type in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return abs(integer(rng)) % 2 ** 32
    if fd.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return abs(integer(rng, 64)) % 2 ** 64
    if fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return rng.choice([0.0, -1.0, 1e308, float("nan")])
    return integer(rng)


_SERVICES: dict[str, Any] = {
    "ControlPlane": controlplane_pb2.DESCRIPTOR.services_by_name["ControlPlane"],
    "AgentService": agent_pb2.DESCRIPTOR.services_by_name["AgentService"],
    "JoinService": agent_pb2.DESCRIPTOR.services_by_name["JoinService"],
}
_MODULES = {"ControlPlane": controlplane_pb2, "AgentService": agent_pb2, "JoinService": agent_pb2}


def grpc_cases(seed: int, count: int, cluster: str, image: str) -> Iterator[GrpcCase]:
    """`count` requests spread over every method, a third of them RegisterTaskDefinition
    (made one at a time: some are megabytes)."""
    rng = random.Random(seed)
    known = _Known(cluster, image)
    methods = [(name, m) for name, service in _SERVICES.items() for m in service.methods]
    for _ in range(count):
        if rng.random() < 0.33:
            service, method = "ControlPlane", _SERVICES["ControlPlane"].methods_by_name[
                "RegisterTaskDefinition"]
        else:
            service, method = rng.choice(methods)
        request_class = getattr(_MODULES[service], method.input_type.name)
        requests = []
        for _ in range(rng.choice([1, 1, 3]) if method.client_streaming else 1):
            request = request_class()
            _fill(rng, request, known)
            if method.name in _SELF_HARM:
                request = request_class(name="fuzz-user") if "name" in \
                    request_class.DESCRIPTOR.fields_by_name else request_class()
            requests.append(request)
        yield GrpcCase(service, method.name, requests if method.client_streaming else requests[0])


@dataclass
class GrpcTargets:
    """Stubs for the three services: ControlPlane and JoinService as the admin, AgentService
    as a node that joined the fuzzed cluster (so its own instance is reachable)."""

    control: controlplane_pb2_grpc.ControlPlaneStub
    join: agent_pb2_grpc.JoinServiceStub
    agent: agent_pb2_grpc.AgentServiceStub
    instance_id: str
    channels: list[grpc.Channel] = field(default_factory=list)

    @classmethod
    def connect(cls, admin: Context, cluster: str) -> "GrpcTargets":
        api = channel_for(admin)
        control = controlplane_pb2_grpc.ControlPlaneStub(api)
        control.CreateCluster(controlplane_pb2.CreateClusterRequest(cluster_name=cluster),
                              timeout=10)
        join = agent_pb2_grpc.JoinServiceStub(api)
        token = control.GetJoinToken(controlplane_pb2.GetJoinTokenRequest(), timeout=10).token
        key = pki.new_key()
        joined = join.Join(agent_pb2.JoinRequest(cluster=cluster, name="fuzz-node",
                                                 join_token=token, csr_pem=pki.csr_for(key)),
                           timeout=10)
        machines = grpc.secure_channel(joined.machines_endpoint, grpc.ssl_channel_credentials(
            joined.ca_pem, pki.key_pem(key), joined.certificate_pem))
        return cls(control, join, agent_pb2_grpc.AgentServiceStub(machines), joined.instance_id,
                   [api, machines])

    def stub(self, service: str) -> Any:
        return {"ControlPlane": self.control, "JoinService": self.join,
                "AgentService": self.agent}[service]

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


@dataclass
class Tally:
    """Answers counted by (door, method, code), with the first case of each bad kind."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    bad: Callable[[str], bool] = lambda code: code in BAD_GRPC_CODES

    def add(self, method: str, code: str, case: str, details: str = "") -> None:
        self.counts[(method, code)] += 1
        if self.bad(code) and (method, code) not in self.examples:
            self.examples[(method, code)] = f"{case} -> {code}: {details[:500]}"

    def failures(self) -> dict[tuple[str, str], str]:
        return dict(self.examples)

    def by_code(self) -> Counter:
        out: Counter = Counter()
        for (_, code), n in self.counts.items():
            out[code] += n
        return out

    def total(self) -> int:
        return sum(self.counts.values())


def _aim(request: Message, instance_id: str) -> None:
    """Put the joined node's instance id where the cases left a placeholder."""
    for fd, value in request.ListFields():
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            for item in (value if fd.is_repeated else [value]):
                _aim(item, instance_id)
        elif fd.type == FieldDescriptor.TYPE_STRING:
            if fd.is_repeated:
                value[:] = [instance_id if v == "{instance}" else v for v in value]
            elif value == "{instance}":
                setattr(request, fd.name, instance_id)


def run_grpc(targets: GrpcTargets, cases: Iterable[GrpcCase], timeout: float = 15.0,
             tally: Tally | None = None) -> Tally:
    """Send every case; count the status codes (streams: the first message, then cancel)."""
    tally = tally or Tally()
    for case in cases:
        requests = case.request if isinstance(case.request, list) else [case.request]
        for request in requests:
            _aim(request, targets.instance_id)
        call = getattr(targets.stub(case.service), case.method)
        try:
            if isinstance(case.request, list):
                call(iter(requests), timeout=timeout)
            else:
                answer = call(case.request, timeout=timeout)
                if isinstance(answer, grpc.Call) and hasattr(answer, "__next__"):
                    try:  # a server stream: its first answer or error is enough
                        next(answer, None)
                    finally:
                        answer.cancel()
            tally.add(case.method, "OK", case.describe())
        except grpc.RpcError as exc:
            code = exc.code()
            name = code.name if code is not None else "NONE"
            if name == "CANCELLED":
                name = "OK"  # we cancelled a stream that was answering
            tally.add(case.method, name, case.describe(), exc.details() or "")
    return tally


# ---------------------------------------------------------------------------------------------
# The registry.

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_DIGEST = "sha256:" + "a" * 64


@dataclass
class HttpCase:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    raw: bytes | None = None  # sent as is on a fresh socket instead

    def describe(self) -> str:
        if self.raw is not None:
            return f"raw {self.raw[:200]!r}"
        return f"{self.method} {self.path[:200]} {self.headers} body {self.body[:200]!r}"


def _repository(rng: random.Random) -> str:
    return rng.choice(["fuzz/app", "fuzz/app", "fuzz/app/deeper", text(rng), "A/B", "a" * 256,
                       "a//b", "a/../b", "%2e%2e/x", "a%00b", "-a", "a_" * 100, "_catalog"])


def _digest(rng: random.Random) -> str:
    return rng.choice([_DIGEST, "sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha512:" + "a" * 128,
                       "md5:abc", "sha256:", ":", "sha256:" + "g" * 64, text(rng),
                       "sha256:" + "a" * 64 + "x", "sha256:../../x"])


def _manifest(rng: random.Random) -> tuple[str, bytes]:
    document: Any = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _DIGEST,
                   "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _DIGEST, "size": 10}],
        "annotations": {"a": "b"},
    }
    if rng.random() < 0.3:
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": OCI_MANIFEST, "digest": _DIGEST, "size": 100,
                                   "platform": {"architecture": "amd64", "os": "linux"}}]}
    for _ in range(rng.choice([1, 2])):
        if isinstance(document, dict):
            document = _mutate_manifest(rng, document)
    body = _render(rng, document).encode()
    if rng.random() < 0.1:
        body = bytes(rng.randrange(256) for _ in range(rng.choice([1, 100, 5000])))
    elif rng.random() < 0.1 and body:
        body = body[:rng.randrange(len(body))]
    content_type = rng.choice([OCI_MANIFEST, OCI_INDEX, "application/json", "", "text/plain",
                               "application/vnd.docker.distribution.manifest.v2+json",
                               "application/vnd.docker.distribution.manifest.v1+prettyjws",
                               _header(text(rng))])
    return content_type, body


def _mutate_manifest(rng: random.Random, document: dict[str, Any]) -> Any:
    nodes = _nodes(document)
    kind = rng.randrange(4)
    if len(nodes) < 2:
        kind = 3
    if kind == 0:
        path, _ = rng.choice(nodes[1:])
        _parent(document, path)[path[-1]] = json_value(rng)
    elif kind == 1:
        path, _ = rng.choice(nodes[1:])
        parent = _parent(document, path)
        del parent[path[-1]]
    elif kind == 2:
        _grow(rng, nodes)
    else:
        return json_value(rng)
    return document


def registry_cases(seed: int, count: int) -> Iterator[HttpCase]:
    """`count` requests to every route of the registry, and malformed HTTP."""
    rng = random.Random(seed)
    for _ in range(count):
        repo, kind = _quote(_repository(rng)), rng.randrange(9)
        headers: dict[str, str] = {}
        if kind == 0:
            content_type, body = _manifest(rng)
            if content_type:
                headers["Content-Type"] = content_type
            reference = rng.choice(["latest", "v1", _digest(rng), text(rng), "a" * 129])
            yield (HttpCase("PUT", f"/v2/{repo}/manifests/{_quote(reference)}", headers,
                                  body))
        elif kind == 1:
            method = rng.choice(["GET", "HEAD", "DELETE"])
            reference = rng.choice(["latest", _digest(rng), text(rng)])
            yield (HttpCase(method, f"/v2/{repo}/manifests/{_quote(reference)}", headers))
        elif kind == 2:
            method = rng.choice(["GET", "HEAD", "DELETE"])
            if rng.random() < 0.3:
                headers["Range"] = rng.choice(["bytes=0-", "bytes=-1", "bytes=5-2", "bytes=a-b",
                                               "bytes=0-99999999999999999999", "items=0-1",
                                               "bytes=0-1,2-3", _header(text(rng))])
            yield (HttpCase(method, f"/v2/{repo}/blobs/{_quote(_digest(rng))}", headers))
        elif kind == 3:
            query = rng.choice(["", f"?digest={_quote(_digest(rng))}",
                                f"?mount={_quote(_digest(rng))}&from={_quote(_repository(rng), '')}",
                                "?digest=", "?mount=&from=", f"?{_quote(text(rng))}"])
            body = rng.choice([b"", b"x" * rng.choice([1, 1000]), b"{}"])
            headers["Content-Type"] = "application/octet-stream"
            yield (HttpCase("POST", f"/v2/{repo}/blobs/uploads/{query}", headers, body))
        elif kind == 4:
            method = rng.choice(["GET", "PATCH", "PUT", "DELETE"])
            upload = rng.choice(["00000000-0000-0000-0000-000000000000", text(rng), "..", "x"])
            query = rng.choice(["", f"?digest={_quote(_digest(rng))}", "?digest=",
                                f"?digest={_quote(text(rng))}"])
            if rng.random() < 0.5:
                headers["Content-Range"] = rng.choice(["0-0", "5-1", "a-b", "-1-2", "0-",
                                                       "99999999999999999999-1",
                                                       _header(text(rng))])
            yield (HttpCase(method, f"/v2/{repo}/blobs/uploads/{_quote(upload)}{query}",
                                  headers, rng.choice([b"", b"abc"])))
        elif kind == 5:
            n = rng.choice(["", "0", "1", "-1", "abc", "99999999999999999999999", "1.5", "١٢"])
            last = rng.choice(["", "a", text(rng)])
            path = rng.choice([f"/v2/{repo}/tags/list", "/v2/_catalog"])
            yield (HttpCase("GET", f"{path}?n={_quote(n)}&last={_quote(last)}", headers))
        elif kind == 6:
            method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT"])
            target = rng.choice(["/skiff/v1/repositories", f"/skiff/v1/repositories/{repo}",
                                 f"/skiff/v1/repositories/{repo}/_images",
                                 f"/skiff/v1/repositories/{repo}/_lifecycle",
                                 f"/skiff/v1/repositories/{repo}/_lifecycle/run?dryRun=true"])
            document = rng.choice([
                {"name": repo, "immutable": json_value(rng), "public": json_value(rng)},
                {"rules": [{"rulePriority": json_value(rng), "selection": {
                    "tagStatus": json_value(rng), "countType": "imageCountMoreThan",
                    "countNumber": json_value(rng)}, "action": {"type": "expire"}}]},
                json_value(rng)])
            body = _render(rng, document).encode()
            yield (HttpCase(method, target, {"Content-Type": "application/json"}, body))
        elif kind == 7:
            yield (HttpCase(rng.choice(["GET", "OPTIONS", "TRACE", "BREW", "PUT"]),
                                  rng.choice(["/", "/v2", "/v3/", "/v2/" + "a/" * 300 + "tags/list",
                                              "/%", "/v2/%zz/tags/list", "/token?scope=" +
                                              _quote(text(rng)), "*"]), headers))
        else:
            yield (HttpCase("RAW", "", {}, raw=_raw_request(rng)))


def _raw_request(rng: random.Random) -> bytes:
    return rng.choice([
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"PUT /v2/fuzz/app/manifests/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n{",
        b"PUT /v2/fuzz/app/manifests/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n",
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
        b"GET /v2/ HTTP/1.1\r\n" + b"X-A: b\r\n" * 1000 + b"\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET " + b"/v2/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v2/ HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /v2/ HTTP/one\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
        b"PATCH /v2/fuzz/app/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
        b"GET /v2/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ])


def _header(value: str) -> str:
    """`value` as a header can carry it (latin-1, no line breaks or other controls)."""
    return "".join(ch for ch in value if " " <= ch <= "~" or "\xa0" <= ch <= "\xff")


def _quote(value: str, safe: str = ":/") -> str:
    return quote(value, safe=safe)


def _status_of_raw(address: tuple[str, int], data: bytes, timeout: float) -> str:
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        reply = b""
        try:
            while b"\r\n" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            return "closed"
    line = reply.split(b"\r\n", 1)[0].split()
    return f"HTTP {int(line[1])}" if len(line) >= 2 and line[1].isdigit() else "closed"


def registry_failure(code: str) -> bool:
    """A 5xx answer, except 505: HTTP's answer to a well-formed version it does not speak."""
    return code.startswith("HTTP 5") and code != "HTTP 505"


def run_registry(host: str, port: int, cases: Iterable[HttpCase], timeout: float = 15.0,
                 tally: Tally | None = None) -> Tally:
    """Send every case on a fresh connection; count the HTTP statuses (or `closed`)."""
    tally = tally or Tally(bad=registry_failure)
    for case in cases:
        if case.raw is not None:
            tally.add("raw", _status_of_raw((host, port), case.raw, timeout), case.describe())
            continue
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.request(case.method, case.path, body=case.body, headers=case.headers)
            response = connection.getresponse()
            body = response.read()
            code = f"HTTP {response.status}"
            tally.add(case.path.split("?")[0].rsplit("/", 2)[-2] if case.path.startswith("/v2/")
                      else case.path[:30], code, case.describe(), body.decode(errors="replace"))
        except (OSError, http.client.HTTPException) as exc:
            tally.add(case.method, "closed", case.describe(), str(exc))
        finally:
            connection.close()
    return tally
