"""Time from RunTask to RUNNING for a cached image, next to a plain `docker run -d`.

Starts its own single-machine stack (etcd, registry, control plane, one agent) on free
loopback ports in a temporary state dir, pushes a busybox image, pulls it once so it is
cached, then measures N sequential starts of each kind and prints the medians.

    .venv/bin/python benchmarks/task_start.py [--runs 20] [--pull default|prefer-cached]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import grpc

from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc, types_pb2
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pull", choices=["default", "prefer-cached"], default="default",
                        help="the agent's image pull behaviour (default: pull every time, as ECS)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as state:
        endpoint = f"127.0.0.1:{free_port()}"
        stack = Stack(Path(state), endpoint, registry_port=free_port())
        stack.up(stop_timeout=2, agent_args=("--pull", args.pull))
        try:
            image = f"{stack.registry_address}/bench/busybox:1"
            build_busybox_image(image)
            docker_cli("push", image)
            channel = grpc.insecure_channel(endpoint)
            api = controlplane_pb2_grpc.ControlPlaneStub(channel)
            api.RegisterTaskDefinition(pb.RegisterTaskDefinitionRequest(task_definition_json=json.dumps({
                "family": "bench", "containerDefinitions": [{
                    "name": "sleep", "image": image, "memory": 16, "command": ["sleep", "600"],
                    "linuxParameters": {"initProcessEnabled": True}}]})), timeout=10)
            time_skiff_runs(api, "bench", 1)  # warm-up: the image is cached from here on
            skiff = time_skiff_runs(api, "bench", args.runs)
            docker = time_docker_runs(image, args.runs)
            channel.close()
        finally:
            stack.down()
            ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=skiff.task-id"],
                                 capture_output=True, text=True).stdout.split()
            # Only this benchmark's containers: they run the image pushed to its registry.
            ours = [i for i in ids if stack.registry_address in subprocess.run(
                ["docker", "inspect", "-f", "{{.Config.Image}}", i], capture_output=True,
                text=True).stdout]
            if ours:
                docker_cli("rm", "-f", *ours, check=False)

    print(f"runs: {args.runs}, agent pull behaviour: {args.pull}")
    print(f"skiff task run -> RUNNING   median {statistics.median(skiff) * 1000:7.1f} ms"
          f"   (min {min(skiff) * 1000:.1f}, max {max(skiff) * 1000:.1f})")
    print(f"docker run -d               median {statistics.median(docker) * 1000:7.1f} ms"
          f"   (min {min(docker) * 1000:.1f}, max {max(docker) * 1000:.1f})")


if __name__ == "__main__":
    main()
