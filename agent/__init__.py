"""The node agent: one per machine (container instance).

It holds a session with the control plane (`session.Agent`), runs each assigned task with
one worker thread (`engine.TaskEngine`) and drives Docker only through `runtime.DockerRuntime`.
It never talks to etcd.

    Agent(AgentConfig(endpoint="127.0.0.1:7070", state_dir=Path("/var/lib/skiff/agent"))).run()
"""
