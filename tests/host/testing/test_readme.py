"""devhost/README.md's "Testing your app" examples run as written: the app and its tests."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from devhost.testing.pytest_plugin import HostFactory
from tests.support import APP_DIR

README = APP_DIR / "devhost" / "README.md"
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)


def examples() -> dict[str, str]:
    """The README's marked code blocks, by the file name each is marked with."""
    found = {m["name"]: m["code"] for m in EXAMPLE.finditer(README.read_text("utf-8"))}
    assert set(found) == {"function_app.py", "test_signup.py", "test_signup_fixture.py"}
    return found


def defined_tests(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` in ``namespace``; the test functions it defines, by name."""
    before = set(namespace)
    exec(compile(code, namespace["__file__"], "exec"), namespace)  # noqa: S102 - our README
    return {name: value for name, value in namespace.items()
            if name.startswith("test_") and name not in before}


@pytest.fixture
def namespace(tmp_path: Path) -> dict[str, Any]:
    """The README's app written into a folder, and the globals its test module would have."""
    (tmp_path / "function_app.py").write_text(examples()["function_app.py"])
    return {"__file__": str(tmp_path / "test_signup.py"), "__name__": "readme_example"}


async def test_the_readme_tests_pass_on_the_readme_app(namespace: dict[str, Any]) -> None:
    """Every test of the README's test module passes, as pytest would run it."""
    tests = defined_tests(examples()["test_signup.py"], namespace)
    assert len(tests) == 3
    for test in tests.values():
        await test()


async def test_the_readme_fixture_example_passes(namespace: dict[str, Any],
                                                 durable_test_host: HostFactory) -> None:
    """The fixture example, given the plugin's fixture as pytest gives it."""
    defined_tests(examples()["test_signup.py"], namespace)  # its APP_DIR
    fixture_tests = defined_tests(examples()["test_signup_fixture.py"], namespace)
    assert len(fixture_tests) == 1
    for test in fixture_tests.values():
        assert list(inspect.signature(test).parameters) == ["durable_test_host"]
        await test(durable_test_host)
