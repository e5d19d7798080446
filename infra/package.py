"""Build ``dist/function-app.zip``: the app folder as a zip deploy uploads it.

Every file under the app folder goes in unless ``.funcignore`` (gitignore syntax, as Core
Tools and azd read it) leaves it out. Entries are sorted and dated 1980-01-01, so the same
tree always gives the same bytes. Run ``python infra/package.py [--output PATH]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import pathspec

APP_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = Path("dist") / "function-app.zip"
IGNORE_FILE = ".funcignore"
# Files a Functions app package cannot do without: refuse to build one that lacks them.
REQUIRED = ("function_app.py", "host.json", "requirements.txt")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """The app folder cannot be packaged as it is."""


def ignore_spec(app_dir: Path) -> pathspec.PathSpec:
    """The app folder's ``.funcignore`` as a matcher (nothing ignored without the file)."""
    ignore_file = app_dir / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    return pathspec.GitIgnoreSpec.from_lines(lines)


def package_files(app_dir: Path) -> list[str]:
    """The app-relative POSIX paths a deploy uploads, sorted.

    Ignored folders are not entered; symbolic links to folders are not followed.
    """
    spec = ignore_spec(app_dir)
    found: list[str] = []
    for folder, subfolders, files in os.walk(app_dir):
        relative = Path(folder).relative_to(app_dir)
        subfolders[:] = sorted(
            name for name in subfolders
            if not (Path(folder) / name).is_symlink()
            and not spec.match_file(f"{(relative / name).as_posix()}/"))
        for name in files:
            path = (relative / name).as_posix()
            if not spec.match_file(path):
                found.append(path)
    return sorted(found)


def build(app_dir: Path, output: Path) -> list[str]:
    """Write the package of ``app_dir`` to ``output`` (replaced whole); return its entries.

    Raises ``PackageError`` when a file every Functions app needs would be missing, or when
    ``output`` lies inside the app folder without being ignored (it would package itself).
    """
    files = package_files(app_dir)
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise PackageError(f"{app_dir} cannot be deployed without {', '.join(missing)}")
    target = output.resolve()
    if target.is_relative_to(app_dir) and target.relative_to(app_dir).as_posix() in files:
        raise PackageError(f"{output} is inside the package: list its folder in {IGNORE_FILE}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".function-app-", suffix=".zip", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in files:
                entry = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, (app_dir / name).read_bytes())
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return files


def main(argv: list[str] | None = None) -> int:
    """Build the package; print what was written. Exit 1 with the reason when it cannot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=APP_DIR, help="the app folder")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"the zip to write (default: APP/{DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    app_dir = args.app.resolve()
    output = args.output or app_dir / DEFAULT_OUTPUT
    try:
        files = build(app_dir, output)
    except PackageError as err:
        print(f"package: {err}", file=sys.stderr)
        return 1
    print(f"package: {output} ({len(files)} files, {output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
