"""The node agent: one per machine (container instance).

It holds a session with the control plane (`session.Agent`), runs each assigned task with
one worker thread (`engine.TaskEngine`) and drives containers only through a
`runtime.ContainerRuntime` (`runtime.docker_sdk.DockerRuntime`, or `fake_runtime.FakeRuntime`).
It never talks to etcd.

    decision.py      PURE: next_action(desired, known, containers) and its rules
    plan.py          the engine's input (TaskPlan) and output (TaskReport), plain dataclasses
    engine.py        one worker thread per task; applies decisions through the runtime
    session.py       the control-plane session; converts assignments to plans (protobuf stops)
    logs.py          ships container output on request
    credentials.py   docker config.json logins for pulls
    fake_runtime.py  an in-memory ContainerRuntime with call counts
    runtime/         the ContainerRuntime protocol, its types and errors, the Docker adapter

Only `agent.runtime.docker_sdk` and `agent.runtime.unix_http` import the `docker` SDK.

    Agent(AgentConfig(endpoint="127.0.0.1:7070", state_dir=Path("/var/lib/skiff/agent")),
          DockerRuntime()).run()

The package itself exports nothing; import from its modules.
"""

__all__: list[str] = []
