"""The agent's container runtime: what the task engine asks of a container engine.

One concern per module:

* `model`: the engine-facing types (`ContainerSpec`, `ContainerState`, ...) and the
  deterministic container names adoption relies on;
* `errors`: the error hierarchy and the table that classifies the engine's failures
  (retriable or not; "not found" on stop and remove counts as done);
* `api`: the `ContainerRuntime` protocol, the contract every runtime keeps;
* `docker_sdk`: `DockerRuntime`, the adapter to a real Docker engine, the only place in
  Skiff that imports the `docker` SDK (with `unix_http`, its client for the engine's socket);
* `unix_http`: plain HTTP/1.1 on the engine's unix socket over kept-alive connections.

This package exports the first three, which load without the `docker` SDK; import
`DockerRuntime` from `agent.runtime.docker_sdk` where a real engine is meant::

    from agent.runtime import ContainerRuntime, ContainerSpec
    from agent.runtime.docker_sdk import DockerRuntime

    runtime: ContainerRuntime = DockerRuntime()
    state = runtime.create(ContainerSpec(task_id="t1", container_name="web", cluster="default",
                                         instance_id="i-1", image="127.0.0.1:5000/web:1"))
    runtime.start(state.container_id)
"""

from agent.runtime.api import ContainerRuntime, Stream
from agent.runtime.errors import (ContainerNotFound, ContainerRuntimeError, ImageNotFound,
                                  RuntimeUnavailable)
from agent.runtime.model import (LABEL_CLUSTER, LABEL_CONTAINER_NAME, LABEL_HOST_PORTS,
                                 LABEL_INSTANCE, LABEL_TASK_ID, ContainerSpec, ContainerState,
                                 HealthCheck, NetworkBinding, PortSpec, docker_container_name,
                                 docker_timestamp, just_started)

__all__ = [
    "ContainerRuntime",
    "Stream",
    "ContainerRuntimeError",
    "ImageNotFound",
    "ContainerNotFound",
    "RuntimeUnavailable",
    "LABEL_TASK_ID",
    "LABEL_CONTAINER_NAME",
    "LABEL_CLUSTER",
    "LABEL_INSTANCE",
    "LABEL_HOST_PORTS",
    "PortSpec",
    "HealthCheck",
    "ContainerSpec",
    "NetworkBinding",
    "ContainerState",
    "docker_container_name",
    "docker_timestamp",
    "just_started",
]
