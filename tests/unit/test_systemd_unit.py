"""`skiff up --install`: the systemd unit that brings the stack up at boot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_install_writes_a_unit_that_runs_the_stack_in_the_foreground(tmp_path: Path):
    state = tmp_path / "state"
    result = subprocess.run(
        [sys.executable, "-m", "skiff.cli", "--endpoint", "127.0.0.1:7171", "up", "--install",
         "--root", str(tmp_path / "root"), "--state-dir", str(state), "--agents", "2",
         "--stop-timeout", "10"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "root" / "etc" / "systemd" / "system" / "skiff.service"
    assert f"wrote {unit}" in result.stdout
    assert "systemctl enable --now skiff.service" in result.stdout
    assert not state.exists()  # installing starts nothing

    lines = unit.read_text().splitlines()
    skiff = f"{sys.executable} -m skiff.cli --endpoint 127.0.0.1:7171"
    assert f"ExecStart={skiff} up --state-dir {state} --agents 2 --stop-timeout 10" in lines
    assert f"ExecStop={skiff} down --state-dir {state} --keep-tasks" in lines
    assert "Restart=on-failure" in lines and "KillMode=mixed" in lines
    assert "Type=simple" in lines  # `skiff up` without --detach stays in the foreground
    assert lines[lines.index("[Install]") + 1] == "WantedBy=multi-user.target"
    assert any(line.startswith("After=") and "docker.service" in line for line in lines)
