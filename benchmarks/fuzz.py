"""Fuzz a running single-machine stack's doors and print the answers by status code.

Starts its own stack (etcd, registry, control plane; no agent: the fuzzer joins as a node
itself to reach AgentService) on free loopback ports in a temporary state dir, sends `--cases`
seeded gRPC requests (every ControlPlane, AgentService and JoinService method, a third of them
mutated task definitions) and as many registry requests, then checks both still answer.
Exits non-zero when any answer was gRPC UNKNOWN/INTERNAL or HTTP 5xx, printing the first case
of each such kind. The same seed sends the same requests.

    .venv/bin/python benchmarks/fuzz.py [--cases 5000] [--seed 1] [--door grpc|registry|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from skiffapi.v1 import controlplane_pb2 as pb
from skiffharness.fuzz import (GrpcTargets, HttpCase, Tally, grpc_cases, registry_cases, run_grpc,
                               run_registry)
from skiffharness.processes import free_port
from skiffharness.stack import Stack

CLUSTER = "fuzz"


def report(title: str, tally: Tally, seconds: float) -> bool:
    print(f"{title}: {tally.total()} requests in {seconds:.1f} s")
    for code, n in sorted(tally.by_code().items(), key=lambda item: -item[1]):
        print(f"  {code:22} {n}")
    for (method, code), example in sorted(tally.failures().items()):
        print(f"  FAILURE {method} {code}: {example}")
    return not tally.failures()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="per door")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--door", choices=["grpc", "registry", "both"], default="both")
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="skiff-fuzz-") as state:
        stack = Stack(Path(state), f"127.0.0.1:{free_port()}", registry_port=free_port(),
                      client_config=Path(state) / "client.json")
        stack.up(stop_timeout=2, agents=0)
        try:
            if args.door in ("grpc", "both"):
                admin = stack.admin_context()
                assert admin is not None
                targets = GrpcTargets.connect(admin, CLUSTER)
                started = time.monotonic()
                tally = run_grpc(targets, grpc_cases(args.seed, args.cases, CLUSTER,
                                                     f"{stack.registry_address}/fuzz/app:1"))
                ok &= report(f"gRPC, seed {args.seed}", tally, time.monotonic() - started)
                whoami = targets.control.WhoAmI(pb.WhoAmIRequest(), timeout=10)
                print(f"control plane afterwards: answers ({whoami.kind} {whoami.name})")
                targets.close()
            if args.door in ("registry", "both"):
                started = time.monotonic()
                tally = run_registry("127.0.0.1", stack.registry_port,
                                     registry_cases(args.seed, args.cases))
                ok &= report(f"registry, seed {args.seed}", tally, time.monotonic() - started)
                alive = run_registry("127.0.0.1", stack.registry_port, [HttpCase("GET", "/v2/", {})])
                ok &= report("registry afterwards", alive, 0)
        finally:
            stack.down()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
