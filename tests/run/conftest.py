import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    env.pop("LOOPSTEP_TEST_RECORD", None)
    return env


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def loopstep_env() -> dict[str, str]:
    """The environment for a subprocess that runs this checkout's loopstep."""
    return _env()


@pytest.fixture(scope="session")
def run_loopstep():
    """Run ``python -m loopstep ARGS`` in a subprocess and return the CompletedProcess."""

    def run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "loopstep", *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=timeout,
            **kwargs,
        )

    return run
