"""Node and the npm packages of tests/js (the protocols' own parsers, TypeScript), installed by the tests.

``npm ci`` installs exactly what ``tests/js/package-lock.json`` names into the git-ignored
``tests/js/node_modules`` (once; again when the lock file changes).  Without node or npm
the tests that need them skip, naming what is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")
MISSING = "node and npm are not installed (apt-get install nodejs npm; .ci/run installs them)"


def node_modules() -> Path:
    """``tests/js/node_modules``, installed with ``npm ci`` if missing or older than the lock file."""
    if NODE is None or NPM is None:
        pytest.skip(MISSING)
    modules = JS / "node_modules"
    stamp = modules / ".package-lock.json"
    lock = JS / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"npm ci failed in {JS}:\n{result.stdout}\n{result.stderr}")
    return modules


def run_node(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run([NODE, *args], cwd=JS, capture_output=True, text=True, timeout=timeout, check=False)
