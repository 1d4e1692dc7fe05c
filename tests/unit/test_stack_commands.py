"""What the stack's supervisor runs: TLS by default, plaintext only when asked for."""

from __future__ import annotations

import json

import pytest

from skiffharness.stack import Stack, Supervisor


def supervisor(tmp_path, insecure: bool) -> Supervisor:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "stack.json").write_text(json.dumps({"settings": {
        "endpoint": "127.0.0.1:7070", "registry_port": 5000, "etcd_client_port": 2379,
        "etcd_peer_port": 2380, "machines_port": 7071, "agents": 1, "stop_timeout": 2,
        "agent_args": [], "insecure": insecure}}))
    return Supervisor(tmp_path)


@pytest.mark.parametrize("insecure", [False, True], ids=["tls", "insecure"])
def test_the_control_plane_and_agent_commands_follow_the_setting(tmp_path, insecure):
    s = supervisor(tmp_path, insecure)
    controlplane, agent = s.command("controlplane"), s.command("agent")
    assert ("--insecure" in controlplane) is insecure
    assert ("--auth-file" in s.command("registry")) is not insecure
    assert ("--machines-listen" in controlplane) is not insecure
    assert ("--join-token-file" in agent) is not insecure


def test_an_insecure_stack_is_reached_without_a_token(tmp_path):
    supervisor(tmp_path, insecure=True)
    context = Stack(tmp_path, "127.0.0.1:7070").admin_context()
    assert context is not None and not context.ca and not context.token
