"""A virtualenv of its own for a tool whose pins clash with the project's environment.

Built once per requirements file content under ``.local/tools/`` (local state, never
deployed), behind a lock, so concurrent test sessions build it once and later ones reuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import APP_DIR

TOOLS_DIR = APP_DIR / ".local" / "tools"
INSTALL_TIMEOUT_SECONDS = 1200
_READY = ".ready"


def tool_venv(name: str, requirements: Path) -> Path:
    """The folder of a virtualenv with ``requirements`` installed, built on first use."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = TOOLS_DIR / f"{name}-{digest}"
    if (venv / _READY).is_file():
        return venv
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    with open(TOOLS_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / _READY).is_file():
            _build(venv, requirements)
    return venv


def _build(venv: Path, requirements: Path) -> None:
    """Make the virtualenv afresh and install ``requirements``; mark it ready last."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", "--no-input", "-r", str(requirements)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise RuntimeError(f"installing {requirements} failed:\n{done.stdout}\n{done.stderr}")
    (venv / _READY).write_text("ok\n")
