"""The checks the code is held to, all configured in pyproject.toml: ruff (lint), mypy (types)
and import-linter (the import contracts that state the architecture; DESIGN.md's dependency
direction). Each tool runs in a subprocess of this interpreter, so `scripts/test` and CI run
them with everything else. Each import contract is also shown to fail: a module that breaks it,
added to a copy of the packages, makes lint-imports report that contract broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINTER = CONFIG["tool"]["importlinter"]
CONTRACTS = {c["id"]: c for c in LINTER["contracts"]}
NOT_PRODUCT = {"tests", "benchmarks"}  # top-level packages that are not shipped or checked
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def _run(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _product_packages() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_PRODUCT


def test_ruff() -> None:
    result = _run("-m", "ruff", "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = _run("-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    result = _run("-c", LINT_IMPORTS, "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout, result.stdout


def test_every_package_is_checked() -> None:
    """A new top-level package is type-checked and in the import graph, and the contracts that
    speak of "every package" name it (the generated skiffapi is not type-checked)."""
    packages = _product_packages()
    assert set(CONFIG["tool"]["mypy"]["files"]) == packages - {"skiffapi"}
    assert set(LINTER["root_packages"]) == packages
    for contract, exempt in [("docker-in-runtime", set()), ("etcd-in-store", set()),
                             ("click-in-cli", {"skiff"}), ("cli-is-root", {"skiff"})]:
        assert set(CONTRACTS[contract]["source_modules"]) == packages - exempt, contract


# (contract, module added to the copy, its one line): each breaks exactly that contract.
VIOLATIONS = [
    ("agent-controlplane", "agent/_violation.py", "import controlplane.store"),
    ("agent-controlplane", "controlplane/_violation.py", "from agent import engine"),
    ("registry-alone", "registry/_violation.py", "import skiffcore.status"),
    ("registry-alone", "registry/_violation.py", "from skiffapi.v1 import types_pb2"),
    ("scheduler-pure", "controlplane/scheduler/_violation.py", "from controlplane import store"),
    ("scheduler-pure", "controlplane/scheduler/_violation.py", "import grpc"),
    ("scheduler-pure", "controlplane/scheduler/_violation.py", "import time"),
    ("docker-in-runtime", "agent/_violation.py", "import docker"),
    ("docker-in-runtime", "controlplane/_violation.py", "from docker import errors"),
    ("etcd-in-store", "controlplane/resources/_violation.py", "import pyetcd"),
    ("click-in-cli", "controlplane/_violation.py", "import click"),
    ("cli-is-root", "agent/_violation.py", "from skiff import cli"),
    ("cli-is-root", "skiffharness/_violation.py", "import skiff.clikit"),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and of pyproject.toml, to break."""
    root = tmp_path_factory.mktemp("tree")
    for package in LINTER["root_packages"]:
        shutil.copytree(ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def test_every_contract_has_a_violation() -> None:
    assert {contract for contract, _, _ in VIOLATIONS} == set(CONTRACTS)


@pytest.mark.parametrize(("contract", "module", "line"), VIOLATIONS,
                         ids=[f"{c}:{line}" for c, _, line in VIOLATIONS])
def test_contract_can_fail(tree: Path, contract: str, module: str, line: str) -> None:
    path = tree / module
    path.write_text(line + "\n")
    try:
        result = _run("-c", LINT_IMPORTS, "--no-cache", "--contract", contract, cwd=tree)
    finally:
        path.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout, result.stdout
    dotted = module.removesuffix(".py").replace("/", ".")
    assert dotted in result.stdout, result.stdout  # broken by this module, not by chance
