"""The control plane under many agents: RunTask for N tasks until all are reported RUNNING.

Starts etcd and a control-plane process on loopback, then, in this process, simulated agents
that speak the real agent protocol (register, heartbeat, assignment stream, state reports)
without Docker: a task is reported RUNNING as soon as it is assigned. Prints the time from the
first RunTask until every task was reported RUNNING, and the control plane's peak memory.

By default the control plane serves TLS, as `controlplane serve` does: the benchmark calls the
API as the first admin, and every simulated agent is a joined node. It makes its own key, joins
with the join token (a CSR over TLS on the API port, the CA pinned by the token's digest) and
then talks mutual TLS on the machines port with its own certificate, so each agent has its own
connection. The joins run concurrently before the clock starts. `--insecure` serves plaintext
without users or certificates (`controlplane serve --insecure`); its agents share one channel
unless `--channel-per-agent` gives each its own connection, as with TLS.

`--compare-insecure` measures what TLS and authorization cost: `--rounds` rounds, each one run
with TLS and one with `--insecure --channel-per-agent` (same connections, so only TLS and the
checks differ), fresh etcd and control plane for every run, the side that goes first
alternating; it prints the median with min and max of each figure, and the TLS/plaintext ratio.

    .venv/bin/python benchmarks/control_plane_scale.py [--agents 1000] [--tasks 10000] [--callers 8]
        [--insecure [--channel-per-agent]] [--compare-insecure [--rounds 3]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from skiffapi.v1 import agent_pb2, agent_pb2_grpc, controlplane_pb2 as pb, controlplane_pb2_grpc
from skiffapi.v1 import types_pb2
from skiffcore import pki
from skiffcore.contexts import Context, bootstrap_context
from skiffharness.processes import EtcdProcess, free_port, port_open, wait_until

RUNNING = types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")
STOPPED = types_pb2.TaskStatus.Value("TASK_STATUS_STOPPED")
JOINS_IN_FLIGHT = 32
# A channel of its own per agent: without this, gRPC lets channels with the same target and
# arguments share one connection.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


@dataclass
class Endpoints:
    """Where the simulated agents and the API caller connect, and with what."""

    api: Context                   # the admin's context (plaintext when it has no CA)
    join_token: str = ""           # empty: plaintext agents, no join
    channel_per_agent: bool = True

    def api_channel(self) -> grpc.aio.Channel:
        context = self.api
        if not context.ca:
            return grpc.aio.insecure_channel(context.endpoint)
        credentials = grpc.composite_channel_credentials(
            grpc.ssl_channel_credentials(context.ca.encode()),
            grpc.access_token_call_credentials(context.token))
        return grpc.aio.secure_channel(context.endpoint, credentials)


@dataclass
class Node:
    """One simulated agent's identity: its certificate, or nothing (plaintext)."""

    name: str
    instance_id: str = ""
    credentials: grpc.ChannelCredentials | None = None
    machines_endpoint: str = ""


async def join_all(endpoints: Endpoints, cluster: str, count: int) -> list[Node]:
    """Every node joins as a real agent does (agent/identity.py): the CA pinned by the token's
    digest, a key made here, a CSR sent with the token over TLS; `JOINS_IN_FLIGHT` at a time."""
    names = [f"sim-{n}" for n in range(count)]
    if not endpoints.join_token:
        return [Node(name) for name in names]
    token = pki.JoinToken.parse(endpoints.join_token)
    host, _, port = endpoints.api.endpoint.rpartition(":")
    ca_pem = await asyncio.to_thread(pki.fetch_pinned_ca, host, int(port), token.ca_digest)
    channel = grpc.aio.secure_channel(endpoints.api.endpoint, grpc.ssl_channel_credentials(ca_pem))
    stub = agent_pb2_grpc.JoinServiceStub(channel)
    gate = asyncio.Semaphore(JOINS_IN_FLIGHT)

    async def join(name: str) -> Node:
        async with gate:
            key = pki.new_key()
            reply = await stub.Join(agent_pb2.JoinRequest(
                cluster=cluster, name=name, join_token=str(token), csr_pem=pki.csr_for(key)),
                timeout=60)
        credentials = grpc.ssl_channel_credentials(reply.ca_pem or ca_pem, pki.key_pem(key),
                                                   reply.certificate_pem)
        return Node(name, reply.instance_id, credentials, reply.machines_endpoint)

    try:
        return list(await asyncio.gather(*(join(name) for name in names)))
    finally:
        await channel.close()


class SimulatedAgents:
    """N agents; counts the RUNNING reports the control plane accepted."""

    def __init__(self, endpoints: Endpoints, nodes: list[Node], cluster: str):
        self.endpoints, self.nodes, self.cluster = endpoints, nodes, cluster
        self.reported_running: set[str] = set()
        self.all_running = asyncio.Event()
        self.expected = 0
        self.ids: list[str] = []
        self.channels: list[grpc.aio.Channel] = []
        self.stream_errors = 0

    def _stub(self, node: Node, shared: list[agent_pb2_grpc.AgentServiceStub]
              ) -> agent_pb2_grpc.AgentServiceStub:
        if node.credentials is not None:
            channel = grpc.aio.secure_channel(node.machines_endpoint, node.credentials,
                                              options=OWN_CONNECTION)
        elif self.endpoints.channel_per_agent or not shared:
            channel = grpc.aio.insecure_channel(self.endpoints.api.endpoint,
                                                options=OWN_CONNECTION)
        else:
            return shared[0]
        self.channels.append(channel)
        stub = agent_pb2_grpc.AgentServiceStub(channel)
        shared.append(stub)
        return stub

    async def start(self) -> None:
        shared: list[agent_pb2_grpc.AgentServiceStub] = []
        self.stubs = [self._stub(node, shared) for node in self.nodes]
        resources = [types_pb2.Resource(name="CPU", type="INTEGER", integer_value=4096),
                     types_pb2.Resource(name="MEMORY", type="INTEGER", integer_value=16384)]
        registered = await asyncio.gather(*(stub.RegisterContainerInstance(
            agent_pb2.RegisterContainerInstanceRequest(
                cluster=self.cluster, instance_id=node.instance_id, name=node.name,
                total_resources=resources,
                attributes=[types_pb2.Attribute(name="ecs.availability-zone",
                                                value=f"zone-{n % 3}")],
                agent_version="sim"))
            for n, (node, stub) in enumerate(zip(self.nodes, self.stubs))))
        self.ids = [r.container_instance.instance_id for r in registered]
        self.tasks = [asyncio.create_task(self._session(stub, i))
                      for stub, i in zip(self.stubs, self.ids)]

    async def _session(self, stub: agent_pb2_grpc.AgentServiceStub, instance_id: str) -> None:
        """The assignment stream, opened again after an error as the real agent does (a busy
        machine can fail a call; counted in `stream_errors`)."""
        heartbeat = asyncio.create_task(self._heartbeats(stub, instance_id))
        reported: set[str] = set()
        try:
            while True:
                try:
                    stream = stub.StreamAssignments(agent_pb2.StreamAssignmentsRequest(
                        cluster=self.cluster, instance_id=instance_id))
                    async for assignments in stream:
                        new = [t for t in assignments.tasks
                               if t.desired_status == RUNNING and t.task_id not in reported]
                        if new:
                            await self._report(stub, instance_id, new)
                            reported.update(t.task_id for t in new)
                except grpc.aio.AioRpcError:
                    self.stream_errors += 1
                    await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            pass
        finally:
            heartbeat.cancel()

    async def _report(self, stub: agent_pb2_grpc.AgentServiceStub, instance_id: str,
                      tasks) -> None:
        """All newly assigned tasks of one agent in one call, as the real agent batches."""
        await stub.ReportTaskStates(agent_pb2.ReportTaskStatesRequest(
            cluster=self.cluster, instance_id=instance_id, reports=[
                agent_pb2.TaskStateReport(task_id=t.task_id, status=RUNNING, containers=[
                    agent_pb2.ContainerReport(name=c.name, status=RUNNING) for c in t.containers])
                for t in tasks]))
        self.reported_running.update(t.task_id for t in tasks)
        if self.expected and len(self.reported_running) >= self.expected:
            self.all_running.set()

    async def _heartbeats(self, stub: agent_pb2_grpc.AgentServiceStub, instance_id: str) -> None:
        while True:
            await asyncio.sleep(3)
            try:
                await stub.Heartbeat(agent_pb2.HeartbeatRequest(
                    cluster=self.cluster, instance_id=instance_id), timeout=10)
            except grpc.aio.AioRpcError:
                pass

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(channel.close() for channel in self.channels))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(endpoints: Endpoints, pid: int, agents: int, tasks: int, callers: int
              ) -> dict[str, float]:
    """One run's figures: seconds to join and register (not timed), then the timed part."""
    cluster = "scale"
    channel = endpoints.api_channel()
    api = controlplane_pb2_grpc.ControlPlaneStub(channel)
    await api.CreateCluster(pb.CreateClusterRequest(cluster_name=cluster))
    await api.RegisterTaskDefinition(pb.RegisterTaskDefinitionRequest(task_definition_json=json.dumps(
        {"family": "scale", "containerDefinitions": [
            {"name": "app", "image": "127.0.0.1:5000/app:1", "cpu": 128, "memory": 256}]})))

    started = time.perf_counter()
    nodes = await join_all(endpoints, cluster, agents)
    joined = time.perf_counter() - started
    sim = SimulatedAgents(endpoints, nodes, cluster)
    await sim.start()
    registered = time.perf_counter() - started - joined

    async def connected() -> int:
        arns = (await api.ListContainerInstances(pb.ListContainerInstancesRequest(
            cluster=cluster))).container_instance_arns
        described = await api.DescribeContainerInstances(pb.DescribeContainerInstancesRequest(
            cluster=cluster, container_instances=arns))
        return sum(i.agent_connected for i in described.container_instances)

    deadline = time.monotonic() + 120
    while (count := await connected()) < agents:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count} of {agents} agents connected after 120 s "
                               f"({sim.stream_errors} assignment streams failed)")
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
    sim.expected = tasks - failures  # tasks not placed are never assigned
    if len(sim.reported_running) >= sim.expected:
        sim.all_running.set()
    try:
        await asyncio.wait_for(sim.all_running.wait(), timeout=600)
    except TimeoutError:
        raise TimeoutError(f"{len(sim.reported_running)} of {sim.expected} placed tasks reported "
                           f"RUNNING after 600 s ({sim.stream_errors} assignment streams "
                           f"failed)") from None
    elapsed = time.perf_counter() - begin
    figures = {"joined": joined, "registered": registered, "run_task": placed_in,
               "all_running": elapsed, "tasks_per_s": tasks / elapsed,
               "peak_mib": peak_rss_mib(pid), "failures": failures,
               "stream_errors": sim.stream_errors}
    await sim.stop()
    await channel.close()
    return figures


def one_run(agents: int, tasks: int, callers: int, tls: bool, channel_per_agent: bool
            ) -> dict[str, float]:
    """Fresh etcd and control plane, one run, everything stopped again."""
    with tempfile.TemporaryDirectory(prefix="skiff-scale-") as tmp:
        etcd = EtcdProcess(Path(tmp) / "etcd", log_path=Path(tmp) / "etcd.log").start()
        port = free_port()
        endpoint = f"127.0.0.1:{port}"
        command = [sys.executable, "-m", "skiff.cli", "controlplane", "serve",
                   "--etcd", etcd.endpoint, "--listen", endpoint]
        state = Path(tmp) / "controlplane"
        machines_port = free_port()
        if tls:
            command += ["--state-dir", str(state), "--machines-listen",
                        f"127.0.0.1:{machines_port}"]
        else:
            command += ["--insecure"]
        log = open(Path(tmp) / "controlplane.log", "wb")
        cp = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: port_open("127.0.0.1", port), 30, message="control plane")
            if tls:
                wait_until(lambda: port_open("127.0.0.1", machines_port), 30,
                           message="the machines port")
                admin = wait_until(lambda: bootstrap_context(state / "bootstrap.json"), 30,
                                   message="the first admin's token")
                admin.endpoint = endpoint
                endpoints = Endpoints(admin, (state / "join-token").read_text().strip())
            else:
                endpoints = Endpoints(Context(endpoint), channel_per_agent=channel_per_agent)
            return asyncio.run(run(endpoints, cp.pid, agents, tasks, callers))
        finally:
            cp.send_signal(signal.SIGTERM)
            cp.wait(30)
            log.close()
            etcd.stop()


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def describe(figures: dict[str, float], agents: int, tasks: int, callers: int) -> str:
    return (f"agents: {agents} (joined in {figures['joined']:.1f}s, registered in "
            f"{figures['registered']:.1f}s), tasks: {tasks}, RunTask callers: {callers}, "
            f"placement failures: {figures['failures']:.0f}, assignment streams opened again: "
            f"{figures['stream_errors']:.0f}\n"
            f"RunTask calls done in {figures['run_task']:.1f}s; all {tasks} tasks reported "
            f"RUNNING after {figures['all_running']:.1f}s ({figures['tasks_per_s']:.0f} tasks/s)\n"
            f"control plane peak memory (VmHWM): {figures['peak_mib']:.0f} MiB")


def compare(args: argparse.Namespace) -> None:
    sides = {"TLS": True, "plaintext": False}
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for n in range(args.rounds):
        order = list(sides) if n % 2 == 0 else list(reversed(sides))
        for side in order:
            figures = one_run(args.agents, args.tasks, args.callers, tls=sides[side],
                              channel_per_agent=True)
            results[side].append(figures)
            print(f"round {n + 1} {side:<9}: all RUNNING after {figures['all_running']:.1f}s, "
                  f"RunTask calls {figures['run_task']:.1f}s, joined "
                  f"{figures['joined']:.1f}s, peak {figures['peak_mib']:.0f} MiB, streams "
                  f"opened again {figures['stream_errors']}; {load()}",
                  flush=True)
    print(f"\n{args.agents} agents (a connection each), {args.tasks} tasks, {args.callers} "
          f"RunTask callers; {args.rounds} rounds, median (min-max)")
    rows = (("all tasks RUNNING (s)", "all_running", 1), ("RunTask calls done (s)", "run_task", 1),
            ("tasks/s", "tasks_per_s", 0), ("control plane peak (MiB)", "peak_mib", 0),
            ("register, not timed (s)", "registered", 1), ("joins, not timed (s)", "joined", 1))
    print(f"  {'figure':<26}{'TLS':>20}{'plaintext':>20}{'TLS/plain':>11}")
    for label, key, digits in rows:
        cells = []
        medians = []
        for side in sides:
            values = [r[key] for r in results[side]]
            medians.append(statistics.median(values))
            cells.append(f"{medians[-1]:.{digits}f} ({min(values):.{digits}f}-"
                         f"{max(values):.{digits}f})")
        ratio = f"{medians[0] / medians[1]:.3f}" if key != "joined" else "-"  # no plain joins
        print(f"  {label:<26}{cells[0]:>20}{cells[1]:>20}{ratio:>11}")
    print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--insecure", action="store_true",
                        help="plaintext control plane without users or certificates")
    parser.add_argument("--channel-per-agent", action="store_true",
                        help="with --insecure: a connection per agent, as with TLS")
    parser.add_argument("--compare-insecure", action="store_true",
                        help="TLS and plaintext runs in alternating rounds, side by side")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with --compare-insecure")
    args = parser.parse_args()
    if args.compare_insecure:
        compare(args)
        return
    figures = one_run(args.agents, args.tasks, args.callers, tls=not args.insecure,
                      channel_per_agent=args.channel_per_agent)
    mode = ("TLS, joined agents" if not args.insecure else
            "plaintext, " + ("a channel per agent" if args.channel_per_agent
                             else "agents share one channel"))
    print(f"control plane: {mode}")
    print(describe(figures, args.agents, args.tasks, args.callers))
    print(load())


if __name__ == "__main__":
    main()
