"""The control plane under many agents: RunTask for N tasks until all are reported RUNNING.

Starts etcd and a control-plane process on loopback, then, in this process, simulated agents
that speak the real agent protocol (register, heartbeat, assignment stream, state reports)
without Docker: a task is reported RUNNING as soon as it is assigned. Prints the time from the
first RunTask until every task was reported RUNNING, and the control plane's peak memory.

    .venv/bin/python benchmarks/control_plane_scale.py [--agents 1000] [--tasks 10000] [--callers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from skiffapi.v1 import agent_pb2, agent_pb2_grpc, controlplane_pb2 as pb, controlplane_pb2_grpc
from skiffapi.v1 import types_pb2
from skiffharness.processes import EtcdProcess, free_port, port_open, wait_until

RUNNING = types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")
STOPPED = types_pb2.TaskStatus.Value("TASK_STATUS_STOPPED")


class SimulatedAgents:
    """N agents on one channel; counts the RUNNING reports the control plane accepted."""

    def __init__(self, endpoint: str, count: int, cluster: str):
        self.endpoint, self.count, self.cluster = endpoint, count, cluster
        self.reported_running: set[str] = set()
        self.all_running = asyncio.Event()
        self.expected = 0
        self.ids: list[str] = []

    async def start(self) -> None:
        self.channel = grpc.aio.insecure_channel(self.endpoint)
        self.stub = agent_pb2_grpc.AgentServiceStub(self.channel)
        resources = [types_pb2.Resource(name="CPU", type="INTEGER", integer_value=4096),
                     types_pb2.Resource(name="MEMORY", type="INTEGER", integer_value=16384)]
        registered = await asyncio.gather(*(self.stub.RegisterContainerInstance(
            agent_pb2.RegisterContainerInstanceRequest(
                cluster=self.cluster, name=f"sim-{n}", total_resources=resources,
                attributes=[types_pb2.Attribute(name="ecs.availability-zone",
                                                value=f"zone-{n % 3}")],
                agent_version="sim")) for n in range(self.count)))
        self.ids = [r.container_instance.instance_id for r in registered]
        self.tasks = [asyncio.create_task(self._session(i)) for i in self.ids]

    async def _session(self, instance_id: str) -> None:
        heartbeat = asyncio.create_task(self._heartbeats(instance_id))
        reported: set[str] = set()
        try:
            stream = self.stub.StreamAssignments(agent_pb2.StreamAssignmentsRequest(
                cluster=self.cluster, instance_id=instance_id))
            async for assignments in stream:
                new = [t for t in assignments.tasks
                       if t.desired_status == RUNNING and t.task_id not in reported]
                for task in new:
                    reported.add(task.task_id)
                if new:
                    await self._report(instance_id, new)
        except asyncio.CancelledError:
            pass
        finally:
            heartbeat.cancel()

    async def _report(self, instance_id: str, tasks) -> None:
        """All newly assigned tasks of one agent in one call, as the real agent batches."""
        await self.stub.ReportTaskStates(agent_pb2.ReportTaskStatesRequest(
            cluster=self.cluster, instance_id=instance_id, reports=[
                agent_pb2.TaskStateReport(task_id=t.task_id, status=RUNNING, containers=[
                    agent_pb2.ContainerReport(name=c.name, status=RUNNING) for c in t.containers])
                for t in tasks]))
        self.reported_running.update(t.task_id for t in tasks)
        if self.expected and len(self.reported_running) >= self.expected:
            self.all_running.set()

    async def _heartbeats(self, instance_id: str) -> None:
        while True:
            await asyncio.sleep(3)
            try:
                await self.stub.Heartbeat(agent_pb2.HeartbeatRequest(
                    cluster=self.cluster, instance_id=instance_id), timeout=10)
            except grpc.aio.AioRpcError:
                pass

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.channel.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(endpoint: str, pid: int, agents: int, tasks: int, callers: int) -> None:
    cluster = "scale"
    channel = grpc.aio.insecure_channel(endpoint)
    api = controlplane_pb2_grpc.ControlPlaneStub(channel)
    await api.CreateCluster(pb.CreateClusterRequest(cluster_name=cluster))
    await api.RegisterTaskDefinition(pb.RegisterTaskDefinitionRequest(task_definition_json=json.dumps(
        {"family": "scale", "containerDefinitions": [
            {"name": "app", "image": "127.0.0.1:5000/app:1", "cpu": 128, "memory": 256}]})))

    started = time.perf_counter()
    sim = SimulatedAgents(endpoint, agents, cluster)
    await sim.start()
    registered = time.perf_counter() - started

    async def connected() -> int:
        arns = (await api.ListContainerInstances(pb.ListContainerInstancesRequest(
            cluster=cluster))).container_instance_arns
        described = await api.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
            cluster=cluster, container_instances=arns))
        return sum(i.agent_connected for i in described.container_instances)

    deadline = time.monotonic() + 60
    while await connected() < agents:
        if time.monotonic() > deadline:
            raise TimeoutError("agents did not all connect")
        await asyncio.sleep(0.2)

    sim.expected = tasks
    calls = [min(10, tasks - n) for n in range(0, tasks, 10)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for count in calls:
        queue.put_nowait(count)
    failures = 0

    async def caller() -> None:
        nonlocal failures
        while not queue.empty():
            count = queue.get_nowait()
            response = await api.RunTask(pb.RunTaskRequest(cluster=cluster, task_definition="scale",
                                                           count=count), timeout=60)
            failures += len(response.failures)

    begin = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    placed_in = time.perf_counter() - begin
    await asyncio.wait_for(sim.all_running.wait(), timeout=600)
    elapsed = time.perf_counter() - begin
    print(f"agents: {agents} (registered in {registered:.1f}s), tasks: {tasks}, "
          f"RunTask callers: {callers}, placement failures: {failures}")
    print(f"RunTask calls done in {placed_in:.1f}s; all {tasks} tasks reported RUNNING after "
          f"{elapsed:.1f}s ({tasks / elapsed:.0f} tasks/s)")
    print(f"control plane peak memory (VmHWM): {peak_rss_mib(pid):.0f} MiB")
    await sim.stop()
    await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--callers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skiff-scale-") as tmp:
        etcd = EtcdProcess(Path(tmp) / "etcd", log_path=Path(tmp) / "etcd.log").start()
        port = free_port()
        endpoint = f"127.0.0.1:{port}"
        log = open(Path(tmp) / "controlplane.log", "wb")
        cp = subprocess.Popen([sys.executable, "-m", "skiff.cli", "controlplane", "serve",
                               "--etcd", etcd.endpoint, "--listen", endpoint],
                              stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: port_open("127.0.0.1", port), 30, message="control plane")
            asyncio.run(run(endpoint, cp.pid, args.agents, args.tasks, args.callers))
        finally:
            cp.send_signal(signal.SIGTERM)
            cp.wait(30)
            etcd.stop()


if __name__ == "__main__":
    main()
