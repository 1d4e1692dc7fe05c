"""Build small images from Debian's busybox-static, with no pull from anywhere.

`FROM scratch` needs no base image, so this works on a machine without internet.
Used by the demo, the tests and the benchmarks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BUSYBOX = "/bin/busybox"


def build_busybox_image(tag: str, extra_layers: int = 0) -> str:
    """Build `tag` with busybox installed; `extra_layers` adds small layers (for multi-layer tests).

    Returns the tag. Raises RuntimeError with docker's output when the build fails.
    """
    if not Path(BUSYBOX).exists():
        raise RuntimeError(f"{BUSYBOX} not found (apt-get install busybox-static)")
    with tempfile.TemporaryDirectory(prefix="skiff-image-") as context:
        shutil.copy(BUSYBOX, Path(context) / "busybox")
        lines = [
            "FROM scratch",
            "COPY busybox /bin/busybox",
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        ]
        for n in range(extra_layers):
            (Path(context) / f"layer{n}.txt").write_text(f"layer {n}\n")
            lines.append(f"COPY layer{n}.txt /layers/layer{n}.txt")
        lines.append('CMD ["/bin/sh"]')
        (Path(context) / "Dockerfile").write_text("\n".join(lines) + "\n")
        # The classic builder: BuildKit may not be installed, and FROM scratch needs no pull.
        env = dict(os.environ, DOCKER_BUILDKIT="0")
        result = subprocess.run(["docker", "build", "-q", "-t", tag, context],
                                capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"docker build {tag} failed: {result.stderr.strip()}")
    return tag


def docker_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker CLI (push/pull/rm) and fail with its output."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result
