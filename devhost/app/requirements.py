"""The app's own ``requirements.txt``, installed where the host can import it without harm.

Core Tools leaves installing an app's requirements to its user; Azure installs them at
deployment. This host installs them at start: requirements the host's own environment
already satisfies are left to it (a version the host's environment does not satisfy is
named, and the host's copy is the one imported); everything else is installed with
``pip install --target`` into ``.local/requirements/<digest>`` of the app folder, keyed by
what is installed and the Python version, so an unchanged file installs nothing the next
time. That folder goes at the *end* of ``sys.path``, after the host's site-packages, so
nothing the app brings replaces a package the host runs on. Its path is passed to the
replay worker processes in ``DEVHOST_APP_PACKAGES`` (``add_app_packages`` reads it).

A requirement that cannot be installed stops the start with ``AppLoadError`` naming it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from devhost.errors import AppLoadError

__all__ = ["APP_PACKAGES_VARIABLE", "InstalledRequirements", "add_app_packages",
           "install_requirements"]

APP_PACKAGES_VARIABLE = "DEVHOST_APP_PACKAGES"
REQUIREMENTS_FILE = "requirements.txt"
CACHE_DIR = Path(".local") / "requirements"
_COMPLETE = ".complete"
# pip's lines that name the requirement it could not install.
_FAILED_NAME = re.compile(
    r"(?:satisfies the requirement|distribution found for|not a valid wheel filename"
    r"|File not found|does not exist|Invalid requirement):?\s*'?([^\s'(]+)")
PIP_TIMEOUT_SECONDS = 900.0


@dataclass
class InstalledRequirements:
    """What preparing an app's requirements did."""

    provided: list[str] = field(default_factory=list)  # satisfied by the host's environment
    mismatched: list[str] = field(default_factory=list)  # host's version used instead
    installed: list[str] = field(default_factory=list)  # distributions in the app's folder
    target: Path | None = None
    from_cache: bool = False

    def summary(self) -> str:
        """One paragraph for the console."""
        lines = []
        if self.installed:
            how = "already installed" if self.from_cache else "installed"
            lines.append(f"requirements.txt: {how} in {CACHE_DIR}/: {', '.join(self.installed)}")
        if self.provided:
            lines.append(f"requirements.txt: provided by the host: {', '.join(self.provided)}")
        for text in self.mismatched:
            lines.append(f"requirements.txt: warning: {text}")
        return "\n".join(lines) or "requirements.txt: nothing to install"


def _lines(path: Path) -> list[str]:
    """The file's requirement lines, comments and blanks dropped, continuations joined."""
    text = path.read_text(encoding="utf-8-sig").replace("\\\n", "")
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            lines.append(line)
    return lines


_NESTED = re.compile(r"^(-r|-c|--requirement|--constraint)(\s*=?\s*)(\S+)$")


def _anchored(line: str, app_dir: Path) -> str:
    """A nested ``-r``/``-c`` file named relative to the app folder, made absolute (pip reads
    nested files relative to the file that names them, which is not in the app folder)."""
    found = _NESTED.match(line)
    if found is None:
        return line
    return f"{found[1]} {(app_dir / found[3]).resolve()}"


def _host_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _sort(lines: list[str], found: InstalledRequirements) -> list[str]:
    """The lines pip must install; those the host satisfies are noted in ``found``."""
    wanted = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            wanted.append(line)  # an option, a path or a URL: pip reads it
            continue
        if requirement.url:
            wanted.append(line)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = _host_version(requirement.name)
        if version is None:
            wanted.append(line)
        elif requirement.specifier.contains(version, prereleases=True):
            found.provided.append(f"{requirement.name} {version}")
        else:
            found.mismatched.append(
                f"{line} is wanted but the host runs on {requirement.name} {version}, "
                "which the app imports instead")
    return wanted


def _failed_names(output: str, lines: list[str]) -> list[str]:
    names = [found.group(1) for found in _FAILED_NAME.finditer(output)]
    named = [line for line in lines if any(name in line for name in names)]
    return named or names


def _pip_install(app_dir: Path, lines: list[str], target: Path) -> None:
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    listing = staging / "requirements.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
               "--no-input", "--quiet", "--target", str(staging), "-r", str(listing)]
    try:
        done = subprocess.run(command, cwd=app_dir, capture_output=True, text=True,  # noqa: S603
                              timeout=PIP_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise AppLoadError(f"installing {app_dir / REQUIREMENTS_FILE} failed: {err}") from err
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        output = (done.stderr or "") + (done.stdout or "")
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        names = _failed_names(output, lines)
        which = f"requirement {', '.join(repr(n) for n in names)}" if names else "a requirement"
        raise AppLoadError(
            f"{app_dir / REQUIREMENTS_FILE}: {which} cannot be installed; fix or remove it "
            f"(pip said: {' '.join(errors[-3:]) or output.strip()[-500:]})")
    listing.unlink()
    (staging / _COMPLETE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _distributions(target: Path) -> list[str]:
    found = []
    for info in sorted(target.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found.append(f"{name} {version}")
    return found


def add_app_packages(environ: dict[str, str] | None = None) -> None:
    """Append the app's installed requirements (``DEVHOST_APP_PACKAGES``) to ``sys.path``."""
    folder = (os.environ if environ is None else environ).get(APP_PACKAGES_VARIABLE)
    if folder and folder not in sys.path:
        sys.path.append(folder)


def install_requirements(app_dir: Path) -> InstalledRequirements | None:
    """Install ``app_dir/requirements.txt`` as the module docstring says; None without one."""
    app_dir = Path(app_dir).resolve()
    path = app_dir / REQUIREMENTS_FILE
    if not path.is_file():
        return None
    found = InstalledRequirements()
    wanted = [_anchored(line, app_dir) for line in _sort(_lines(path), found)]
    if not wanted:
        return found
    key = "\n".join([sys.version, *wanted]).encode("utf-8")
    target = app_dir / CACHE_DIR / hashlib.sha256(key).hexdigest()[:16]
    found.target = target
    found.from_cache = (target / _COMPLETE).is_file()
    if not found.from_cache:
        _pip_install(app_dir, wanted, target)
    found.installed = _distributions(target)
    os.environ[APP_PACKAGES_VARIABLE] = str(target)
    add_app_packages()
    return found
