"""The committed generated code is exactly what scripts/gen-proto produces from proto/."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_code_is_up_to_date(tmp_path):
    # The interpreter running the tests has the pinned grpcio-tools; PATH may have none.
    subprocess.run([str(REPO / "scripts" / "gen-proto"), str(tmp_path)], check=True,
                   env=dict(os.environ, SKIFF_PYTHON=sys.executable))
    fresh = tmp_path / "skiffapi"
    committed = REPO / "skiffapi"
    names = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts)
    stale = [n for n in names if not filecmp.cmp(fresh / n, committed / n, shallow=False)]
    assert stale == [], f"regenerate with scripts/gen-proto: {stale} differ"


def test_status_numbers_match_the_api():
    from skiffapi.v1 import types_pb2
    from skiffcore.status import TaskStatus

    for status in TaskStatus:
        assert types_pb2.TaskStatus.Value(f"TASK_STATUS_{status.name}") == status.value
