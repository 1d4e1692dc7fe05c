"""The ``skiff debug snapshot`` export format: a cluster snapshot as JSON-ready data.

Pure and small so that both the simulator, which reads exports back
(`sim.snapshot_from_dict`), and the control plane's ExportSnapshot door can import it without
importing each other.
"""

from __future__ import annotations

from typing import Any

from controlplane.scheduler.model import ClusterSnapshot

__all__ = ["SNAPSHOT_FORMAT", "snapshot_to_dict"]

SNAPSHOT_FORMAT = "skiff.snapshot/v1"


def snapshot_to_dict(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """The ``skiff debug snapshot`` export (JSON-ready); `sim.snapshot_from_dict` reads it back."""
    return {"format": SNAPSHOT_FORMAT, "instances": [{
        "instanceId": i.instance_id, "status": i.status, "agentConnected": i.agent_connected,
        "remainingCpu": i.remaining_cpu, "remainingMemory": i.remaining_memory,
        "registeredCpu": i.registered_cpu, "registeredMemory": i.registered_memory,
        "usedPorts": [f"{p}/{q}" for p, q in sorted(i.used_ports)],
        "attributes": dict(i.attributes), "agentVersion": i.agent_version,
        "registeredAtMs": i.registered_at_ms, "taskGroups": list(i.task_groups),
        "dynamicPortRange": list(i.dynamic_port_range),
        "reservedDynamicPorts": i.reserved_dynamic_ports,
    } for i in snapshot.instances]}
