"""The host's shape holds: a small top level, modules read in one sitting, no app named."""

from __future__ import annotations

import re
from pathlib import Path

import devhost

DEVHOST = Path(devhost.__file__).resolve().parent
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 450
# Words of the order app this repository also holds; the generic host names none of them.
ORDER_APP_WORDS = re.compile(
    r"pizza|pineapple|neapolitan|\borders\b|orderid|order_id|regid|approv", re.I)


def _modules() -> list[Path]:
    return sorted(DEVHOST.rglob("*.py"))


def test_devhost_top_level_holds_at_most_eight_modules() -> None:
    """The top of devhost/ keeps to the kernel; everything else lives in a sub-package."""
    top = sorted(path.name for path in DEVHOST.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_devhost_module_is_over_450_lines() -> None:
    """Every module of the host is short enough to read in one sitting."""
    long = {str(path.relative_to(DEVHOST)): n for path in _modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_devhost_module_names_the_order_app() -> None:
    """The host is generic: no module, comment or example in it names the order app."""
    named = {str(path.relative_to(DEVHOST)): ORDER_APP_WORDS.findall(path.read_text("utf-8"))
             for path in _modules()}
    assert {path: words for path, words in named.items() if words} == {}


def test_every_sub_package_says_what_it_holds() -> None:
    """Each folder of devhost is a package whose docstring says what lives there."""
    folders = sorted({path.parent for path in _modules()} - {DEVHOST})
    assert folders, "devhost has sub-packages"
    for folder in folders:
        init = folder / "__init__.py"
        assert init.is_file(), folder
        assert init.read_text(encoding="utf-8").lstrip().startswith('"""'), init
