"""Skiff services next to Docker Swarm mode services, on the same Docker engine.

Both orchestrate the same image (busybox `sleep 600` with an init process, pulled by both from
the Skiff stack's registry on loopback) on this one machine. Each is driven and watched through
its own API, Skiff's gRPC and the Engine API for Swarm (what `skiff service ...` and `docker
service ...` call), so that no CLI process per poll takes CPU from the engine being measured.
Every figure is the time from the API call until the orchestrator itself reports the
containers running:

- N replicas running from nothing, for each of `--sizes` (Skiff: CreateService until
  DescribeServices' running_count == N; Swarm: ServiceCreate until N tasks are in state
  running);
- scaling `--scale-from` -> `--scale-to` (UpdateService desired_count; ServiceUpdate of the
  replicas, as `docker service scale`);
- a rolling update of `--rolling` replicas to a second tag of the image (a new task definition
  revision): Skiff with its defaults, minimumHealthyPercent 100 / maximumPercent 200 and
  healthy_after_seconds 0, until the new deployment is COMPLETED with all its tasks running;
  Swarm with parallelism <all> and order start-first, the same shape (start every replacement
  next to the old task, stop the old ones once the new run), and a monitor window of 1 ms
  (`--swarm-update-monitor`), as Skiff's 0 s health grace, until UpdateStatus.State is
  "completed";
- replacements for `--kill` of `--kill-from` replicas whose containers are killed with
  `docker kill`, until that many replicas run again (the killed ones not counted). Both with
  their defaults: Skiff retries its first failures at once, Swarm waits its restart delay
  (5 s; `--swarm-restart-delay` changes it);
- for reference, plain `docker run -d --init` of the same image, 8 at a time and one at a time.

Between figures the service is removed, its containers are waited out, and so is the machine
until it is idle (what a removal leaves to the kernel would slow down the next figure), so each
figure starts from the same idle engine. The Skiff stack (etcd, registry, control plane, one
agent pulling with `prefer-cached`, stop timeout 2 s) runs on free loopback ports in a
temporary state dir. Swarm mode is enabled for the run (`docker swarm init --advertise-addr
127.0.0.1`) and left (`docker swarm leave --force`) at the end, whatever happens; a swarm the
engine was already part of is kept (only this run's services are removed).

    .venv/bin/python benchmarks/service_vs_swarm.py [--sizes 10,50,100] [--scale-from 100 --scale-to 200]
        [--rolling 50] [--kill 10 --kill-from 50] [--docker-runs 100] [--skip-swarm] [--repeat 3]

Each figure is measured for both sides back to back, who goes first taking turns, so that a
slow spell of the machine hits both alike. With `--repeat R` every figure is measured R times
and the table gives the medians. A second table gives the CPU each process took per container
started, over the measured parts of all figures (from /proc: what the engine, Skiff's
processes and the whole machine spent).

The ratio is skiff/swarm seconds: 1.0 or below means Skiff is at least as fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import docker

from skiffapi.v1 import controlplane_pb2 as pb, controlplane_pb2_grpc, types_pb2
from skiffcore.contexts import channel_for
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import free_port
from skiffharness.stack import Stack

RUNNING = types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")
CLUSTER = "default"
PREFIX = "skiffbench-"  # every service this benchmark creates, in both orchestrators
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"
SWARM_TASK_LABEL = "com.docker.swarm.task.id"
REFERENCE_LABEL = "skiff-bench.reference"  # the plain `docker run` containers


def wait(check: Callable[[], tuple[bool, str]], what: str, timeout: float, poll: float) -> float:
    """Poll `check` (-> done, state for the error) until done; returns when that poll ended.

    The figures are only as fine as `poll`, for both orchestrators alike."""
    deadline = time.perf_counter() + timeout
    while True:
        done, state = check()
        now = time.perf_counter()
        if done:
            return now
        if now > deadline:
            raise TimeoutError(f"{what}: not done after {timeout:g} s (last seen: {state})")
        time.sleep(poll)


def containers(*filters: str, all_states: bool = False) -> list[list[str]]:
    """`docker ps` rows (id, image, labels asked for) matching the label filters."""
    args = ["ps", "--no-trunc", "--format",
            '{{.ID}}\t{{.Image}}\t{{.Label "skiff.task-id"}}\t{{.Label "%s"}}' % SWARM_TASK_LABEL]
    if all_states:
        args.append("-a")
    for f in filters:
        args += ["--filter", f"label={f}"]
    return [line.split("\t") for line in docker_cli(*args).stdout.splitlines() if line]


class Skiff:
    """Services through the gRPC API, as the `skiff service` commands drive them."""

    name = "skiff"

    def __init__(self, api, registry: str, taskdefs: tuple[str, str], timeout: float, poll: float):
        self.api = api
        self.registry = registry
        self.v1, self.v2 = taskdefs
        self.timeout, self.poll = timeout, poll

    def _service(self, name: str) -> pb.Service | None:
        response = self.api.DescribeServices(pb.DescribeServicesRequest(
            cluster=CLUSTER, services=[PREFIX + name]), timeout=10)
        return response.services[0] if response.services else None

    def _tasks(self, name: str) -> list[types_pb2.Task]:
        arns = self.api.ListTasks(pb.ListTasksRequest(cluster=CLUSTER), timeout=10).task_arns
        if not arns:
            return []
        tasks = self.api.DescribeTasks(pb.DescribeTasksRequest(cluster=CLUSTER, tasks=arns),
                                       timeout=30).tasks
        return [t for t in tasks if t.group == f"service:{PREFIX}{name}"]

    def _wait_running(self, name: str, count: int, started: float) -> float:
        def check():
            service = self._service(name)
            return service.running_count == count, f"{service.running_count} running"

        return wait(check, f"skiff {name}: {count} running", self.timeout, self.poll) - started

    def start(self, name: str, count: int) -> float:
        started = time.perf_counter()
        # healthy_after_seconds 0: a task counts as healthy once RUNNING, as Swarm's tasks do
        # (ECS's 40 s grace would only slow the rolling update down, not the start).
        self.api.CreateService(pb.CreateServiceRequest(
            cluster=CLUSTER, service_name=PREFIX + name, task_definition=self.v1,
            desired_count=count, healthy_after_seconds=0), timeout=10)
        return self._wait_running(name, count, started)

    def scale(self, name: str, count: int) -> float:
        started = time.perf_counter()
        self.api.UpdateService(pb.UpdateServiceRequest(cluster=CLUSTER, service=PREFIX + name,
                                                       desired_count=count), timeout=10)
        return self._wait_running(name, count, started)

    def roll(self, name: str, count: int) -> float:
        started = time.perf_counter()
        self.api.UpdateService(pb.UpdateServiceRequest(cluster=CLUSTER, service=PREFIX + name,
                                                       task_definition=self.v2), timeout=10)

        def check():
            service = self._service(name)
            new = [d for d in service.deployments if d.task_definition.endswith("/" + self.v2)]
            # COMPLETED alone would do; the counts guard against reading a stale deployment.
            done = (len(service.deployments) == 1 and new and new[0].rollout_state == "COMPLETED"
                    and new[0].running_count == count)
            return bool(done), ", ".join(f"{d.task_definition.rsplit('/', 1)[-1]} "
                                         f"{d.rollout_state} {d.running_count} running"
                                         for d in service.deployments)

        return wait(check, f"skiff {name}: rollout", self.timeout, self.poll) - started

    def kill(self, name: str, victims: int, count: int) -> float:
        running = [t for t in self._tasks(name) if t.last_status == RUNNING]
        chosen = running[:victims]
        started = time.perf_counter()
        docker_cli("kill", *[t.containers[0].runtime_id for t in chosen])
        gone = {t.task_id for t in chosen}

        # running_count lags the kill (the agent reports, then the controller recounts), so
        # the killed tasks are excluded by id rather than waiting for the count to dip first.
        def check():
            alive = {t.task_id for t in self._tasks(name) if t.last_status == RUNNING} - gone
            return len(alive) >= count, f"{len(alive)} running besides the killed"

        return wait(check, f"skiff {name}: replacements", self.timeout, self.poll) - started

    def remove(self, name: str) -> None:
        self.api.DeleteService(pb.DeleteServiceRequest(cluster=CLUSTER, service=PREFIX + name,
                                                       force=True), timeout=10)

        def check():
            running = self._ours(all_states=False)
            return self._service(name) is None and not running, f"{len(running)} containers"

        wait(check, f"skiff {name}: removal", self.timeout, self.poll)
        # The agent keeps stopped containers (as ECS's does until its cleanup); Swarm removes
        # its own. Removing them keeps the engine equally empty for the next figure.
        stopped = [row[0] for row in self._ours(all_states=True)]
        if stopped:
            docker_cli("rm", "-f", *stopped, check=False)

    def _ours(self, all_states: bool) -> list[list[str]]:
        """Skiff containers of this benchmark's registry (tests may run other stacks)."""
        return [row for row in containers("skiff.task-id", all_states=all_states)
                if row[1].startswith(self.registry + "/")]


class Swarm:
    """Swarm mode services through the Engine API (docker-py), as Skiff's go through gRPC:
    neither side pays for a CLI process per poll, which on this machine would take CPU from
    the very engine being measured (`docker service ps` costs about 18 ms of CPU a call)."""

    name = "swarm"

    def __init__(self, images: tuple[str, str], timeout: float, poll: float, monitor: str,
                 restart_delay: str | None):
        # Pinned by digest, as `docker service create` pins the tag it is given (the CLI asks
        # the registry; done here once, before any clock runs).
        self.v1, self.v2 = (pinned(image) for image in images)
        self.timeout, self.poll = timeout, poll
        self.monitor_ns = nanoseconds(monitor)
        self.restart_delay_ns = nanoseconds(restart_delay) if restart_delay else None
        self.api = docker.APIClient(version="auto")

    def _running(self, name: str) -> list[str]:
        """Ids of the tasks meant to run that do."""
        tasks = self.api.tasks(filters={"service": PREFIX + name, "desired-state": "running"})
        return [t["ID"] for t in tasks if t["Status"]["State"] == "running"]

    def _wait_running(self, name: str, count: int, started: float) -> float:
        def check():
            running = len(self._running(name))
            return running == count, f"{running} running"

        return wait(check, f"swarm {name}: {count} running", self.timeout, self.poll) - started

    def _template(self, image: str) -> docker.types.TaskTemplate:
        # The CLI's `--init --stop-grace-period 2s [--restart-delay D]`; Swarm's own defaults
        # (restart on any exit after 5 s) otherwise.
        restart = (docker.types.RestartPolicy(condition="any", delay=self.restart_delay_ns)
                   if self.restart_delay_ns is not None else None)
        return docker.types.TaskTemplate(
            docker.types.ContainerSpec(image, command=["sleep", "600"], init=True,
                                       stop_grace_period=2 * 10**9),
            restart_policy=restart)

    def start(self, name: str, count: int) -> float:
        started = time.perf_counter()
        self.api.create_service(self._template(self.v1), name=PREFIX + name,
                                mode=docker.types.ServiceMode("replicated", replicas=count))
        return self._wait_running(name, count, started)

    def _update(self, name: str, image: str, count: int, **changes) -> None:
        """Post the whole spec again with the changes, as the CLI does. (docker-py's
        fetch_current_spec sends Swarm's defaults back, which Swarm takes for a new task
        template: every task would be replaced one by one.)"""
        version = self.api.inspect_service(PREFIX + name)["Version"]["Index"]
        self.api.update_service(PREFIX + name, version, name=PREFIX + name,
                                task_template=self._template(image),
                                mode=docker.types.ServiceMode("replicated", replicas=count),
                                **changes)

    def scale(self, name: str, count: int) -> float:
        started = time.perf_counter()
        self._update(name, self.v1, count)
        return self._wait_running(name, count, started)

    def roll(self, name: str, count: int) -> float:
        started = time.perf_counter()
        # Parallelism = every replica with start-first is Skiff's min 100 / max 200: all the
        # replacements start next to the old tasks, which stop once their replacement runs.
        # The monitor window (Swarm keeps watching the new tasks that long before it calls
        # the update completed) is the counterpart of healthy_after_seconds, 0 for Skiff;
        # Swarm's default 5 s would add 5 s to its figure, and it reads 0 as "default".
        # On failure it pauses, as the CLI's default.
        self._update(name, self.v2, count,
                     update_config=docker.types.UpdateConfig(
                         parallelism=count, order="start-first", monitor=self.monitor_ns,
                         failure_action="pause"))

        def check():
            status = self.api.inspect_service(PREFIX + name).get("UpdateStatus") or {}
            state = status.get("State", "")
            if state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
                raise RuntimeError(f"swarm {name}: the update ended {state}")
            return state == "completed", state or "no update status yet"

        return wait(check, f"swarm {name}: update", self.timeout, self.poll) - started

    def kill(self, name: str, victims: int, count: int) -> float:
        chosen = containers(f"{SWARM_SERVICE_LABEL}={PREFIX}{name}")[:victims]
        started = time.perf_counter()
        docker_cli("kill", *[row[0] for row in chosen])
        gone = {row[3] for row in chosen}

        # Swarm marks a killed task failed only once it notices; exclude the killed by id.
        def check():
            alive = set(self._running(name)) - gone
            return len(alive) >= count, f"{len(alive)} running besides the killed"

        return wait(check, f"swarm {name}: replacements", self.timeout, self.poll) - started

    def remove(self, name: str) -> None:
        self.api.remove_service(PREFIX + name)

        def check():
            left = containers(f"{SWARM_SERVICE_LABEL}={PREFIX}{name}", all_states=True)
            return not left, f"{len(left)} containers"

        wait(check, f"swarm {name}: removal", self.timeout, self.poll)


def pinned(image: str) -> str:
    """`image` as tag@digest, from the digest its push recorded."""
    digests = json.loads(docker_cli("image", "inspect", "--format", "{{json .RepoDigests}}",
                                    image).stdout)
    repository = image.rsplit(":", 1)[0]
    digest = next(d for d in digests if d.startswith(repository + "@")).split("@", 1)[1]
    return f"{image}@{digest}"


def nanoseconds(duration: str) -> int:
    """A Go-style duration with one unit ("1ms", "5s", "2m") in nanoseconds."""
    for unit, scale in (("ms", 10**6), ("us", 10**3), ("ns", 1), ("s", 10**9), ("m", 60 * 10**9)):
        if duration.endswith(unit):
            return int(float(duration[:-len(unit)]) * scale)
    raise ValueError(f"duration {duration!r}: expected a number and one of ms, s, m")


def swarm_active() -> bool:
    state = docker_cli("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    return state == "active"


def swarm_clean_up(leave: bool) -> None:
    """Remove this benchmark's services; leave swarm mode only if this run enabled it (a
    swarm that was there before stays)."""
    ours = docker_cli("service", "ls", "-q", "--filter", f"name={PREFIX}",
                      check=False).stdout.split()
    if ours:
        docker_cli("service", "rm", *ours, check=False)
    if leave:
        docker_cli("swarm", "leave", "--force", check=False)


@dataclass
class Figure:
    label: str
    containers: int  # containers the operation starts, for the per-second rate
    seconds: dict[str, list[float]] = field(default_factory=dict)  # by side, one per round

    def median(self, side: str) -> float | None:
        values = self.seconds.get(side)
        return statistics.median(values) if values else None

    def skiff_faster(self) -> str:
        """In how many rounds Skiff took at most Swarm's time in the same round."""
        pairs = list(zip(self.seconds.get("skiff", []), self.seconds.get("swarm", [])))
        return f"{sum(skiff <= swarm for skiff, swarm in pairs)}/{len(pairs)}" if pairs else "-"


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def network_namespaces() -> int | None:
    """Network namespaces the kernel holds, the dying ones included (from the slab cache;
    None where it is not readable)."""
    try:
        with open("/proc/slabinfo") as slabs:
            for line in slabs:
                if line.startswith("net_namespace "):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def settle(below: float = 0.15, window: float = 0.3, timeout: float = 30.0) -> None:
    """Wait until the machine is idle (CPU busy under `below` over `window` seconds) and the
    kernel has no network namespaces left to tear down (their number steady over the window):
    what the last figure left behind (the kernel tears the namespaces of removed containers
    down in the background, in batches, and not all of that shows as busy CPU) would
    otherwise slow down whoever goes next."""
    deadline = time.monotonic() + timeout
    before, namespaces = cpu_busy(), network_namespaces()
    while time.monotonic() < deadline:
        time.sleep(window)
        after, now = cpu_busy(), network_namespaces()
        busy, total = after[0] - before[0], after[1] - before[1]
        if total and busy / total < below and now == namespaces:
            return
        before, namespaces = after, now


ENGINE_PROCESSES = (("dockerd", "dockerd"), ("containerd", "containerd"),
                    ("containerd shims (runc, hooks)", "containerd-shim"))
SKIFF_PROCESSES = (("skiff agent", "agent"), ("skiff control plane", "controlplane"),
                   ("etcd", "etcd"))


def process_seconds(pid: int) -> float:
    """CPU seconds of a process and of the children it waited for (a shim's runc and hooks)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(n) for n in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(skiff_pids: dict[str, int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the engine's processes and the Skiff stack's, by label and pid,
    and of the whole machine (pid 0)."""
    seconds: dict[str, dict[int, float]] = {}
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        for label, prefix in ENGINE_PROCESSES:
            if name == prefix or (prefix.endswith("shim") and name.startswith(prefix)):
                seconds.setdefault(label, {})[pid] = process_seconds(pid)
    for label, key in SKIFF_PROCESSES:
        if key in skiff_pids:
            seconds[label] = {skiff_pids[key]: process_seconds(skiff_pids[key])}
    busy, _ = cpu_busy()
    seconds["whole machine"] = {0: busy / os.sysconf("SC_CLK_TCK")}
    return seconds


class CpuMeter:
    """CPU seconds by process over the measured part of each figure (not its set-up or
    clean-up), by side, and the containers those parts started."""

    def __init__(self, skiff_pids: dict[str, int]):
        self.skiff_pids = skiff_pids
        self.seconds: dict[str, dict[str, float]] = {}
        self.containers: dict[str, int] = {}

    def measure(self, side: str, containers: int, operation: Callable[[], float]) -> float:
        before = cpu_by_process(self.skiff_pids)
        seconds = operation()
        after = cpu_by_process(self.skiff_pids)
        totals = self.seconds.setdefault(side, {})
        # By pid: a process that ended in between (the shim of a container removed before)
        # takes nothing away, and one that started counts from zero.
        for label, pids in after.items():
            earlier = before.get(label, {})
            totals[label] = totals.get(label, 0.0) + sum(
                value - earlier.get(pid, 0.0) for pid, value in pids.items())
        self.containers[side] = self.containers.get(side, 0) + containers
        return seconds

    def print(self) -> None:
        sides = list(self.seconds)
        labels = [label for label, _ in ENGINE_PROCESSES + SKIFF_PROCESSES] + ["whole machine"]
        print("\nCPU per container started, ms (the measured parts of all figures):")
        print(f"  {'':32}" + "".join(f"{side:>9}" for side in sides))
        for label in labels:
            cells = [self.seconds[side].get(label) for side in sides]
            if any(cells):
                print(f"  {label:32}" + "".join(
                    f"{1000 * (c or 0) / self.containers[side]:9.1f}"
                    for c, side in zip(cells, sides)))


@dataclass
class Step:
    """One figure: `run(side, meter)` sets it up, measures it (seconds, through the meter)
    and cleans up after."""
    key: str
    label: str
    containers: int
    run: Callable[[object, CpuMeter], float]


def steps(args) -> list[Step]:
    """Every figure asked for, in order; each starts once the machine is idle."""

    def start(n: int) -> Callable[[object, CpuMeter], float]:
        def run(side, meter: CpuMeter) -> float:
            settle()
            seconds = meter.measure(side.name, n, lambda: side.start(f"start-{n}", n))
            side.remove(f"start-{n}")
            return seconds
        return run

    def after_start(name: str, count: int, containers: int, action: Callable[[object], float]):
        def run(side, meter: CpuMeter) -> float:
            side.start(name, count)
            settle()
            seconds = meter.measure(side.name, containers, lambda: action(side))
            side.remove(name)
            return seconds
        return run

    result = [Step(f"start-{n}", f"{n} replicas running", n, start(n)) for n in args.sizes]
    if args.scale_to > args.scale_from:
        added = args.scale_to - args.scale_from
        result.append(Step("scale", f"scale {args.scale_from} -> {args.scale_to}", added,
                           after_start("scale", args.scale_from, added,
                                       lambda side: side.scale("scale", args.scale_to))))
    if args.rolling:
        result.append(Step("roll", f"rolling update of {args.rolling}", args.rolling,
                           after_start("roll", args.rolling, args.rolling,
                                       lambda side: side.roll("roll", args.rolling))))
    if args.kill:
        result.append(Step("kill", f"replace {args.kill} killed of {args.kill_from}", args.kill,
                           after_start("kill", args.kill_from, args.kill,
                                       lambda side: side.kill("kill", args.kill, args.kill_from))))
    return result


def measure(step: Step, side, figures: dict[str, Figure], meter: CpuMeter) -> None:
    """One figure for one orchestrator; printed as it comes, so a failure keeps the rest."""
    seconds = step.run(side, meter)
    figures.setdefault(step.key, Figure(step.label, step.containers)).seconds.setdefault(
        side.name, []).append(seconds)
    print(f"  {side.name:5}  {step.label:28} {seconds:7.2f} s  "
          f"{step.containers / seconds:7.1f} containers/s", flush=True)


def docker_runs(image: str, count: int, parallel: int) -> float:
    """Seconds for `count` plain `docker run -d --init`, `parallel` at a time."""
    run = ("run", "-d", "--init", "--label", f"{REFERENCE_LABEL}=1", image, "sleep", "600")
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda _: docker_cli(*run), range(count)))
    seconds = time.perf_counter() - started
    remove_reference_containers()
    return seconds


def remove_reference_containers() -> None:
    ids = docker_cli("ps", "-aq", "--filter", f"label={REFERENCE_LABEL}",
                     check=False).stdout.split()
    if ids:
        docker_cli("rm", "-f", *ids, check=False)


def print_table(figures: dict[str, Figure], reference: list[tuple[str, int, float]]) -> None:
    def rate(count: int, seconds: float | None) -> str:
        return f"{count / seconds:.1f}" if seconds else "-"

    def secs(seconds: float | None) -> str:
        return f"{seconds:.2f}" if seconds else "-"

    rows = [["figure", "containers", "skiff s", "swarm s", "skiff/swarm", "skiff faster",
             "skiff c/s", "swarm c/s"]]
    for f in figures.values():
        skiff, swarm = f.median("skiff"), f.median("swarm")
        rows.append([f.label, str(f.containers), secs(skiff), secs(swarm),
                     f"{skiff / swarm:.2f}" if skiff and swarm else "-", f.skiff_faster(),
                     rate(f.containers, skiff), rate(f.containers, swarm)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for n, row in enumerate(rows):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    rounds = max((len(v) for f in figures.values() for v in f.seconds.values()), default=1)
    if rounds > 1:
        print(f"seconds: median of {rounds} rounds")
    print("skiff/swarm: ratio of the seconds; 1.0 or below means Skiff is at least as fast")
    print("skiff faster: rounds in which Skiff took at most Swarm's time (each round runs both "
          "back to back)")
    if reference:
        print("\nfor reference, plain `docker run -d --init` (no orchestrator):")
        for label, count, seconds in reference:
            print(f"  {label:14} {count:5} containers  {seconds:7.2f} s  "
                  f"{rate(count, seconds):>6} containers/s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,100",
                        type=lambda s: [int(n) for n in s.split(",") if n],
                        help="replica counts to start from nothing (default 10,50,100)")
    parser.add_argument("--scale-from", type=int, default=100)
    parser.add_argument("--scale-to", type=int, default=200, help="no scale figure if <= from")
    parser.add_argument("--rolling", type=int, default=50, help="replicas to update (0: skip)")
    parser.add_argument("--kill", type=int, default=10, help="containers to kill (0: skip)")
    parser.add_argument("--kill-from", type=int, default=50, help="replicas before the kill")
    parser.add_argument("--docker-runs", type=int, default=100,
                        help="plain `docker run`s per reference figure (0: skip)")
    parser.add_argument("--skip-swarm", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every figure, the sides taking turns; medians reported")
    parser.add_argument("--swarm-update-monitor", default="1ms",
                        help="Swarm's --update-monitor for the rolling update (default 1ms, as "
                             "Skiff's healthy_after_seconds 0: Swarm takes 0 for its own "
                             "default, 5s)")
    parser.add_argument("--swarm-restart-delay", default=None,
                        help="Swarm's --restart-delay (default: Swarm's own, 5s, which the "
                             "killed replicas wait out before they are replaced)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for each wait")
    parser.add_argument("--poll", type=float, default=0.15, help="seconds between polls")
    args = parser.parse_args()
    if args.kill > args.kill_from:
        parser.error("--kill must not exceed --kill-from")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    # A SIGTERM unwinds like an error, so swarm mode is left and the stack stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    figures: dict[str, Figure] = {}
    reference: list[tuple[str, int, float]] = []
    meter = CpuMeter({})
    swarm_used = swarm_joined = False
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as state:
        endpoint = f"127.0.0.1:{free_port()}"
        # Its own client config: a benchmark leaves the user's `local` context alone.
        stack = Stack(Path(state), endpoint, registry_port=free_port(),
                      client_config=Path(state) / "client.json")
        stack.up(stop_timeout=2, agent_args=("--pull", "prefer-cached"))
        meter.skiff_pids = json.loads((Path(state) / "stack.json").read_text())["pids"]
        context = stack.admin_context()  # the API as the first admin, over TLS
        assert context is not None
        channel = channel_for(context)
        try:
            v1 = f"{stack.registry_address}/bench/busybox:1"
            v2 = f"{stack.registry_address}/bench/busybox:2"
            build_busybox_image(v1)
            docker_cli("tag", v1, v2)
            for image in (v1, v2):
                docker_cli("push", image)
            api = controlplane_pb2_grpc.ControlPlaneStub(channel)
            taskdefs = []
            for image in (v1, v2):  # two revisions of one family: the rolling update's pair
                document = {"family": "svcbench", "containerDefinitions": [{
                    "name": "sleep", "image": image, "memory": 16, "command": ["sleep", "600"],
                    "linuxParameters": {"initProcessEnabled": True}}]}
                td = api.RegisterTaskDefinition(pb.RegisterTaskDefinitionRequest(
                    task_definition_json=json.dumps(document)), timeout=10).task_definition
                taskdefs.append(f"{td.family}:{td.revision}")

            info = docker_cli("version", "--format", "{{.Server.Version}}").stdout.strip()
            print(f"docker {info}, {os.cpu_count()} CPUs; sizes {args.sizes}, scale "
                  f"{args.scale_from}->{args.scale_to}, rolling {args.rolling}, kill {args.kill} "
                  f"of {args.kill_from}; poll {args.poll} s; swarm update monitor "
                  f"{args.swarm_update_monitor}, restart delay "
                  f"{args.swarm_restart_delay or '5s (default)'}", flush=True)
            if not args.skip_swarm:
                swarm_used = True
                if not swarm_active():
                    swarm_joined = True  # set first: a half-done init is still left in `finally`
                    docker_cli("swarm", "init", "--advertise-addr", "127.0.0.1")

            sides = [Skiff(api, stack.registry_address, tuple(taskdefs), args.timeout,
                           args.poll)]
            if not args.skip_swarm:
                sides.append(Swarm((v1, v2), args.timeout, args.poll, args.swarm_update_monitor,
                                   args.swarm_restart_delay))
            for round_ in range(args.repeat):
                if args.repeat > 1:
                    print(f"round {round_ + 1} of {args.repeat}", flush=True)
                # Both sides take each figure in turn, so a slow spell of the machine (they
                # last minutes here) hits both; who goes first alternates from figure to
                # figure and round to round, so neither always meets the engine just after
                # the other's cleanup.
                for number, step in enumerate(steps(args)):
                    for side in sides if (round_ + number) % 2 == 0 else reversed(sides):
                        measure(step, side, figures, meter)
            if args.docker_runs:
                for label, parallel in (("8 in parallel", 8), ("one at a time", 1)):
                    seconds = docker_runs(v1, args.docker_runs, parallel)
                    reference.append((label, args.docker_runs, seconds))
                    print(f"  docker {'run, ' + label:28} {seconds:7.2f} s  "
                          f"{args.docker_runs / seconds:7.1f} containers/s", flush=True)
        finally:
            channel.close()
            if swarm_used:
                swarm_clean_up(leave=swarm_joined)
            remove_reference_containers()
            stack.down()
            # The agent leaves its containers behind when it stops; only this run's go (their
            # image is in this run's registry), as other stacks may share the engine.
            ours = [row[0] for row in containers("skiff.task-id", all_states=True)
                    if row[1].startswith(stack.registry_address + "/")]
            if ours:
                docker_cli("rm", "-f", *ours, check=False)
            for image in (f"{stack.registry_address}/bench/busybox:1",
                          f"{stack.registry_address}/bench/busybox:2"):
                docker_cli("rmi", image, check=False)

    print_table(figures, reference)
    meter.print()


if __name__ == "__main__":
    sys.exit(main())
