"""Time from RunTask to RUNNING for a cached image, next to a plain `docker run -d`.

Starts its own single-machine stack (etcd, registry, control plane, one agent) on free
loopback ports in a temporary state dir, pushes a busybox image, pulls it once so it is
cached, then measures N sequential starts of each kind and prints the medians. The stack
serves TLS with users, as `skiff up` does; the benchmark calls the API as the first admin.

With `--compare-insecure` it measures what TLS and authorization cost: two stacks up side by
side, one TLS and one `--insecure` (plaintext, no users), `--rounds` rounds of `--runs` starts
on each, the side that goes first alternating, then the median of the round medians with their
min and max, and the TLS/plaintext ratio (no `docker run` figure in this mode).

    .venv/bin/python benchmarks/task_start.py [--runs 20] [--pull default|prefer-cached]
    .venv/bin/python benchmarks/task_start.py --compare-insecure [--rounds 5] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc, types_pb2
from skiffcore.contexts import channel_for
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import free_port
from skiffharness.stack import Stack

RUNNING = types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")
STOPPED = types_pb2.TaskStatus.Value("TASK_STATUS_STOPPED")


def time_skiff_runs(api, family: str, runs: int) -> list[float]:
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        task_id = api.RunTask(pb.RunTaskRequest(task_definition=family), timeout=30).tasks[0].task_id
        deadline = started + 60
        while True:
            task = api.DescribeTasks(pb.DescribeTasksRequest(tasks=[task_id]), timeout=10).tasks[0]
            if task.last_status == RUNNING:
                break
            if task.last_status == STOPPED or time.perf_counter() > deadline:
                raise RuntimeError(f"task {task_id} did not reach RUNNING: {task.stopped_reason}")
            time.sleep(0.005)  # polling resolution of the measurement
        durations.append(time.perf_counter() - started)
        api.StopTask(pb.StopTaskRequest(task=task_id), timeout=10)
    return durations


def time_docker_runs(image: str, runs: int) -> list[float]:
    durations, ids = [], []
    for _ in range(runs):
        started = time.perf_counter()
        ids.append(docker_cli("run", "-d", "--init", image, "sleep", "600").stdout.strip())
        durations.append(time.perf_counter() - started)
    docker_cli("rm", "-f", *ids)
    return durations


TASK_DEFINITION = {"family": "bench", "containerDefinitions": [{
    "name": "sleep", "memory": 16, "command": ["sleep", "600"],
    "linuxParameters": {"initProcessEnabled": True}}]}


@contextmanager
def running_stack(state: Path, pull: str, insecure: bool
                  ) -> Iterator[tuple[controlplane_pb2_grpc.ControlPlaneStub, str]]:
    """A stack with the benchmark's image pushed, its task definition registered and one task
    run (so the image is cached); yields the API, called as the stack's admin, and the image."""
    # Its own client config: a benchmark leaves the user's `local` context alone.
    stack = Stack(state, f"127.0.0.1:{free_port()}", registry_port=free_port(),
                  client_config=state / "client.json")
    stack.up(stop_timeout=2, agent_args=("--pull", pull), insecure=insecure)
    try:
        image = f"{stack.registry_address}/bench/busybox:1"
        build_busybox_image(image)
        docker_cli("push", image)
        context = stack.admin_context()
        assert context is not None
        with channel_for(context) as channel:
            api = controlplane_pb2_grpc.ControlPlaneStub(channel)
            definition = json.loads(json.dumps(TASK_DEFINITION))
            definition["containerDefinitions"][0]["image"] = image
            api.RegisterTaskDefinition(pb.RegisterTaskDefinitionRequest(
                task_definition_json=json.dumps(definition)), timeout=10)
            time_skiff_runs(api, "bench", 1)  # warm-up: the image is cached from here on
            yield api, image
    finally:
        stack.down()
        remove_containers(stack.registry_address)


def remove_containers(registry_address: str) -> None:
    """Only this benchmark's containers: they run the image pushed to its registry."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=skiff.task-id"],
                         capture_output=True, text=True).stdout.split()
    ours = [i for i in ids if registry_address in subprocess.run(
        ["docker", "inspect", "-f", "{{.Config.Image}}", i], capture_output=True,
        text=True).stdout]
    if ours:
        docker_cli("rm", "-f", *ours, check=False)


def milliseconds(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:7.1f} ms   "
            f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def single(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as state:
        with running_stack(Path(state), args.pull, insecure=args.insecure) as (api, image):
            skiff = time_skiff_runs(api, "bench", args.runs)
            docker = time_docker_runs(image, args.runs)
    print(f"runs: {args.runs}, agent pull behaviour: {args.pull}, "
          f"control plane: {'plaintext (--insecure)' if args.insecure else 'TLS, as the admin'}")
    print(f"skiff task run -> RUNNING   {milliseconds(skiff)}")
    print(f"docker run -d               {milliseconds(docker)}")
    print(load())


def compare(args: argparse.Namespace) -> None:
    """Both stacks up at once, rounds alternating which side runs first."""
    rounds: dict[str, list[float]] = {"TLS": [], "plaintext": []}
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as state, ExitStack() as stacks:
        tls, _ = stacks.enter_context(running_stack(Path(state) / "tls", args.pull, False))
        plain, _ = stacks.enter_context(running_stack(Path(state) / "plain", args.pull, True))
        sides = {"TLS": tls, "plaintext": plain}
        for n in range(args.rounds):
            order = ["TLS", "plaintext"] if n % 2 == 0 else ["plaintext", "TLS"]
            for side in order:
                durations = time_skiff_runs(sides[side], "bench", args.runs)
                rounds[side].append(statistics.median(durations))
            print(f"round {n + 1}: " + ", ".join(
                f"{side} {rounds[side][-1] * 1000:.1f} ms" for side in order) + f"; {load()}",
                flush=True)
    print(f"RunTask -> RUNNING, {args.rounds} rounds of {args.runs} starts on each side "
          f"(median of round medians), agent pull behaviour: {args.pull}")
    for side, values in rounds.items():
        print(f"  {side:<10} {milliseconds(values)}")
    ratio = statistics.median(rounds["TLS"]) / statistics.median(rounds["plaintext"])
    print(f"  TLS / plaintext: {ratio:.3f}; {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pull", choices=["default", "prefer-cached"], default="default",
                        help="the agent's image pull behaviour (default: pull every time, as ECS)")
    parser.add_argument("--insecure", action="store_true",
                        help="a plaintext control plane without users (controlplane serve "
                             "--insecure) instead of TLS")
    parser.add_argument("--compare-insecure", action="store_true",
                        help="TLS and plaintext stacks side by side, in alternating rounds")
    parser.add_argument("--rounds", type=int, default=5, help="rounds with --compare-insecure")
    args = parser.parse_args()
    compare(args) if args.compare_insecure else single(args)


if __name__ == "__main__":
    main()
