"""Seeded fuzzing of both doors against real processes: the TLS control plane (every method of
ControlPlane, AgentService and JoinService) and the registry. Bad input is always the caller's
error: no gRPC UNKNOWN or INTERNAL, no HTTP 5xx, and both still answer afterwards.

More cases, and counts by status code: benchmarks/fuzz.py.
"""

from __future__ import annotations

import json
import re

import grpc
import pytest

from skiffapi.v1 import agent_pb2, controlplane_pb2 as pb
from skiffharness.fuzz import (GrpcTargets, HttpCase, grpc_cases, registry_cases, run_grpc,
                               run_registry)
from tests.integration.harness import context_for

AGENTS = 0  # the fuzzer joins as a node itself, to reach AgentService
SEED = 20240601
GRPC_CASES = 300
REGISTRY_CASES = 600


@pytest.fixture(scope="module")
def targets(stack):
    targets = GrpcTargets.connect(context_for(stack.endpoint), stack.client.cluster)
    yield targets
    targets.close()


def test_no_grpc_request_gets_an_internal_error(stack, targets):
    tally = run_grpc(targets, grpc_cases(SEED, GRPC_CASES, stack.client.cluster, stack.image))
    assert tally.failures() == {}, "\n".join(tally.failures().values())
    assert tally.total() == GRPC_CASES
    assert tally.by_code()["OK"] > 0  # some cases were valid: the fuzzer reached past the door
    assert targets.control.WhoAmI(pb.WhoAmIRequest(), timeout=10).role == "admin"


def test_no_registry_request_gets_a_server_error(stack):
    host, port = stack.registry_address.split(":")
    tally = run_registry(host, int(port), registry_cases(SEED, REGISTRY_CASES))
    assert tally.failures() == {}, "\n".join(tally.failures().values())
    alive = run_registry(host, int(port), [HttpCase("GET", "/v2/", {})])
    assert list(alive.by_code()) in (["HTTP 200"], ["HTTP 401"])


def _code(call) -> tuple[str, str]:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code().name, exc.details()
    return "OK", ""


def _containers(count: int, image: str) -> str:
    return json.dumps({"family": "fuzz-many", "containerDefinitions": [
        {"name": f"c{i}", "image": image, "memory": 6, "bogus": i} for i in range(count)]})


@pytest.mark.parametrize("document, message", [
    ('{"family": "a", "containerDefinitions": [{"memory": ' + "9" * 5000 + "}]}",
     "an integer of 5000 digits"),
    ('{"family": "a", "containerDefinitions": [{"memory": ' + "9" * 4000 + "}]}",
     "an integer of 4000 digits"),
    ('{"family": NaN}', "NaN is not a JSON value"),
    ("[" * 10_000 + "]" * 10_000, "nests deeper than 32 levels"),
], ids=["integer-over-4300-digits", "integer-of-4000-digits", "nan", "deep"])
def test_json_python_refuses_or_extends_is_invalid(stack, targets, document, message):
    code, details = _code(lambda: targets.control.RegisterTaskDefinition(
        pb.RegisterTaskDefinitionRequest(task_definition_json=document), timeout=10))
    assert code == "INVALID_ARGUMENT" and message in details


def test_a_thousand_containers_get_a_short_answer(stack, targets):
    """Each with a problem: only those up to the limit are listed (10,000 are over 64 KiB)."""
    code, details = _code(lambda: targets.control.RegisterTaskDefinition(
        pb.RegisterTaskDefinitionRequest(task_definition_json=_containers(1000, "busybox")),
        timeout=10))
    assert code == "INVALID_ARGUMENT" and "at most 10 container definitions, got 1000" in details
    rest = re.search(r"\((\d+) more characters\)$", details)
    assert rest is None or int(rest.group(1)) < 500  # eleven containers' problems, not 1000
    assert len(details) < 2000


def test_a_long_cluster_name_is_cut_in_the_answer(stack, targets):
    code, details = _code(lambda: targets.control.RunTask(
        pb.RunTaskRequest(cluster="x" * 10_000, task_definition="fuzz-web"), timeout=10))
    assert code == "INVALID_ARGUMENT" and "(9700 more characters)" in details


@pytest.mark.parametrize("csr", [b"", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n",
                                 b"x" * 100_000], ids=["empty", "broken-pem", "huge"])
def test_a_bad_certificate_request_is_invalid(targets, csr):
    code, details = _code(lambda: targets.agent.RenewCertificate(
        agent_pb2.RenewCertificateRequest(csr_pem=csr), timeout=10))
    assert code == "INVALID_ARGUMENT" and details.startswith("csr_pem: ")
