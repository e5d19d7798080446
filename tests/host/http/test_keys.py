"""Host keys: stored privately, reused, overridden by LOCAL_FUNCTION_KEY; Azure's auth rules."""

import json
import stat
from pathlib import Path

import pytest

from devhost.app.settings import HostSettings
from devhost.http.keys import HostKeys, KeyFileError, presented_key


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_created_private(tmp_path: Path) -> None:
    """First load writes .local/keys.json with mode 0600 in a 0700 folder."""
    keys = HostKeys.load(tmp_path)
    folder, file = tmp_path / ".local", tmp_path / ".local" / "keys.json"
    assert (mode(folder), mode(file)) == (0o700, 0o600)
    stored = json.loads(file.read_text())
    assert stored == {"functionKey": keys.function_key, "masterKey": keys.master_key,
                      "systemKey": keys.system_key}


def test_keys_are_distinct_and_long(tmp_path: Path) -> None:
    """The three keys differ and carry at least 256 bits of randomness."""
    keys = HostKeys.load(tmp_path)
    values = {keys.function_key, keys.master_key, keys.system_key}
    assert len(values) == 3 and all(len(v) >= 43 for v in values)


def test_keys_are_reused(tmp_path: Path) -> None:
    """A second start reads the same keys instead of generating new ones."""
    assert HostKeys.load(tmp_path) == HostKeys.load(tmp_path)


def test_loose_file_mode_is_tightened(tmp_path: Path) -> None:
    """A key file copied in with loose permissions is set back to 0600."""
    HostKeys.load(tmp_path)
    file = tmp_path / ".local" / "keys.json"
    file.chmod(0o644)
    HostKeys.load(tmp_path)
    assert mode(file) == 0o600


def test_missing_key_is_added(tmp_path: Path) -> None:
    """A file lacking a key keeps the others and gains the missing one."""
    first = HostKeys.load(tmp_path)
    file = tmp_path / ".local" / "keys.json"
    file.write_text(json.dumps({"masterKey": first.master_key, "systemKey": first.system_key}))
    second = HostKeys.load(tmp_path)
    assert (second.master_key, second.system_key) == (first.master_key, first.system_key)
    assert second.function_key not in (first.function_key, "")
    assert mode(file) == 0o600


def test_corrupt_file_is_reported(tmp_path: Path) -> None:
    """An unreadable key file is an error, not silently replaced keys."""
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "keys.json").write_text("{oops")
    with pytest.raises(KeyFileError, match=r"keys\.json"):
        HostKeys.load(tmp_path)


def test_local_function_key_wins(tmp_path: Path) -> None:
    """LOCAL_FUNCTION_KEY replaces the function key; the stored one is kept for later."""
    stored = HostKeys.load(tmp_path)
    settings = HostSettings(tmp_path, values={"LOCAL_FUNCTION_KEY": "from-settings"})
    keys = HostKeys.for_settings(settings)
    assert keys.function_key == "from-settings"
    assert (keys.master_key, keys.system_key) == (stored.master_key, stored.system_key)
    assert HostKeys.load(tmp_path).function_key == stored.function_key


def test_empty_local_function_key_is_ignored(tmp_path: Path) -> None:
    """An empty LOCAL_FUNCTION_KEY (as in the example settings) means 'generate one'."""
    keys = HostKeys.load(tmp_path, function_key="")
    assert keys.function_key == HostKeys.load(tmp_path).function_key


def test_repr_hides_keys(tmp_path: Path) -> None:
    """No key shows up in the repr (and so in logs or tracebacks)."""
    keys = HostKeys.load(tmp_path)
    text = repr(keys)
    assert all(k not in text for k in (keys.function_key, keys.master_key, keys.system_key))


KEYS = HostKeys("fn", "master", "system")


@pytest.mark.parametrize(("level", "key", "allowed"), [
    ("anonymous", None, True),
    ("anonymous", "wrong", True),
    ("function", None, False),
    ("function", "fn", True),
    ("function", "master", True),
    ("function", "system", False),
    ("function", "wrong", False),
    ("function", "", False),
    ("admin", "fn", False),
    ("admin", "system", False),
    ("admin", "master", True),
    ("ADMIN", "master", True),
    ("mystery", "master", False),
])
def test_auth_levels(level: str, key: str | None, allowed: bool) -> None:
    """Azure's rules: function routes take function or master key, admin only master."""
    assert KEYS.allows(level, key) is allowed


@pytest.mark.parametrize(("key", "allowed"), [
    ("system", True), ("master", True), ("fn", False), (None, False), ("systemx", False)])
def test_system_key_rules(key: str | None, allowed: bool) -> None:
    """The durable APIs take the system key or the master key."""
    assert KEYS.allows_system(key) is allowed


def test_header_key_takes_precedence_over_query() -> None:
    """x-functions-key is read before the code query parameter."""
    assert presented_key({"x-functions-key": "h"}, {"code": "q"}) == "h"
    assert presented_key({}, {"code": "q"}) == "q"
    assert presented_key({}, {"code": ""}) is None
