"""The control plane's operations, one module per ECS resource, over one unit of work.

    clusters.py   CreateCluster, DescribeClusters, ListClusters
    taskdefs.py   RegisterTaskDefinition, DescribeTaskDefinition, ... and parsed specs
    tasks.py      RunTask, StartTask (group-committed placement), StopTask, DescribeTasks, ...
    instances.py  container instances, their attributes, the scheduler's view of them
    agents.py     what agents ask: register, heartbeat, report task states, assignments
    services.py   CreateService, UpdateService, ... (desired state; controller.py acts on it)
    users.py      users of the API, their roles and tokens
    secrets.py    users' secrets, sealed; their values only for the agent of a task that starts
    membership.py nodes joining (join token → certificate), renewing, DeregisterContainerInstance

Every module reads and writes through `controlplane.unit_of_work.UnitOfWork`; none reaches
into another's private names. `ControlPlane` wires them together for one process:

    control_plane = ControlPlane(store, address="10.0.0.5:7070")   # builds; starts nothing
    control_plane.start()           # loads and watches the state view, keeps agent sessions
    control_plane.tasks.run_task("default", "web:3", count=2)
    control_plane.close()

Unit tests on `MemoryStore` need only `control_plane.view.start()` (its watch runs in the
caller's thread), and skip the session upkeep thread unless they test it.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

from controlplane.cache import StateView
from controlplane.resources.agents import Agents
from controlplane.resources.clusters import Clusters
from controlplane.resources.instances import Instances
from controlplane.resources.membership import Membership
from controlplane.resources.secrets import Secrets
from controlplane.resources.services import Services
from controlplane.resources.taskdefs import TaskDefinitions
from controlplane.resources.tasks import Tasks
from controlplane.resources.users import Users
from controlplane.sessions import Sessions
from controlplane.secretbox import SecretBox
from controlplane.store import Store
from controlplane.trust import ClusterTrust
from controlplane.unit_of_work import UnitOfWork, now_ms

__all__ = ["ControlPlane"]


class ControlPlane:
    """One process's resource operations, sharing one state view, one unit of work and one
    set of agent sessions. Holds no logic of its own."""

    def __init__(self, store: Store, now_ms: Callable[[], int] = now_ms, max_attempts: int = 50,
                 session_timeout: float = 15.0, address: str = "",
                 box: SecretBox | None = None,
                 agent_cert_ttl: dt.timedelta = dt.timedelta(hours=24)):
        self.store = store
        self.view = StateView(store)
        self.sessions = Sessions(store, timeout=session_timeout, address=address)
        self.work = UnitOfWork(store, self.view, now_ms, max_attempts)
        self.clusters = Clusters(self.work)
        self.taskdefs = TaskDefinitions(self.work)
        self.instances = Instances(self.work, self.clusters)
        self.tasks = Tasks(self.work, self.clusters, self.taskdefs, self.instances)
        # Without the secrets key (`box`) secrets cannot be kept: their calls say so.
        self.secrets = Secrets(self.work, box)
        self.agents = Agents(self.work, self.clusters, self.taskdefs, self.instances, self.tasks,
                             self.sessions, self.secrets)
        self.services = Services(self.work, self.clusters, self.taskdefs)
        self.users = Users(self.work)
        # The cluster's CA and join token need the secrets key (`box`). Without it (a
        # plaintext control plane on loopback, for tests of other things) no node can join.
        self.trust = ClusterTrust(self.work, box, agent_cert_ttl) if box else None
        self.membership = (Membership(self.work, self.clusters, self.instances, self.trust)
                           if self.trust else None)

    def start(self) -> "ControlPlane":
        """Load the state view and keep it current (etcd's watch thread), and start the
        sessions' upkeep (lease keepalive, quiet agents expire)."""
        self.view.start()
        self.sessions.start()
        return self

    def close(self) -> None:
        """End the agent sessions (their lease goes at once) and the view's watch."""
        self.sessions.close()
        self.view.close()
