"""Small types shared by the control plane, the agent and the CLI (no I/O, no third-party imports).

    >>> from skiffcore.status import TaskStatus, advance
    >>> advance(TaskStatus.PENDING, TaskStatus.RUNNING)
    <TaskStatus.RUNNING: 4>
"""
