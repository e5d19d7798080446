"""host.json and local.settings.json: defaults, overrides, and applying Values."""

import json
from pathlib import Path

import pytest

from devhost.app.settings import apply_values, load_settings
from devhost.errors import AppLoadError


def write_json(folder: Path, name: str, document: object) -> None:
    """Write ``document`` as ``folder/name``."""
    (folder / name).write_text(json.dumps(document))


def test_defaults_without_files(tmp_path: Path) -> None:
    """No host.json or local.settings.json: hub TestHubName, prefix api, no Values."""
    settings = load_settings(tmp_path, environ={})
    assert (settings.hub_name, settings.route_prefix, dict(settings.values)) == (
        "TestHubName", "api", {})


def test_reads_hub_and_prefix(tmp_path: Path) -> None:
    """hubName and routePrefix come from the extensions section; slashes are trimmed."""
    write_json(tmp_path, "host.json", {"version": "2.0", "extensions": {
        "durableTask": {"hubName": "OrderFlowHub"}, "http": {"routePrefix": "/v1/"}}})
    settings = load_settings(tmp_path, environ={})
    assert (settings.hub_name, settings.route_prefix) == ("OrderFlowHub", "v1")


def test_empty_route_prefix_is_kept(tmp_path: Path) -> None:
    """routePrefix "" serves functions at the root, as in Azure."""
    write_json(tmp_path, "host.json", {"extensions": {"http": {"routePrefix": ""}}})
    assert load_settings(tmp_path, environ={}).route_prefix == ""


def test_hub_name_resolves_app_setting(tmp_path: Path) -> None:
    """``%Name%`` in hubName is replaced by that app setting."""
    write_json(tmp_path, "host.json", {"extensions": {"durableTask": {"hubName": "%HUB%"}}})
    write_json(tmp_path, "local.settings.json", {"Values": {"HUB": "FromValues"}})
    assert load_settings(tmp_path, environ={}).hub_name == "FromValues"
    assert load_settings(tmp_path, environ={"HUB": "FromEnv"}).hub_name == "FromEnv"


def test_unset_hub_reference_is_refused(tmp_path: Path) -> None:
    """A hubName naming a missing setting fails with the setting's name."""
    write_json(tmp_path, "host.json", {"extensions": {"durableTask": {"hubName": "%NOPE%"}}})
    with pytest.raises(AppLoadError, match="NOPE"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize("hub", ["ab", "1hub", "my-hub", "x" * 46])
def test_invalid_hub_name_is_refused(tmp_path: Path, hub: str) -> None:
    """Hub names Azure Storage would refuse are refused at start."""
    write_json(tmp_path, "host.json", {"extensions": {"durableTask": {"hubName": hub}}})
    with pytest.raises(AppLoadError, match="task hub name"):
        load_settings(tmp_path, environ={})


def test_malformed_host_json_names_the_file(tmp_path: Path) -> None:
    """Broken JSON raises AppLoadError naming host.json."""
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(AppLoadError, match=r"host\.json"):
        load_settings(tmp_path, environ={})


def test_values_become_strings(tmp_path: Path) -> None:
    """Numbers and booleans in Values are exported as text."""
    write_json(tmp_path, "local.settings.json",
               {"Values": {"A": "x", "N": 3, "B": True}})
    assert dict(load_settings(tmp_path, environ={}).values) == {"A": "x", "N": "3", "B": "true"}


def test_object_value_is_refused(tmp_path: Path) -> None:
    """A nested object in Values is refused, naming the setting."""
    write_json(tmp_path, "local.settings.json", {"Values": {"BAD": {"x": 1}}})
    with pytest.raises(AppLoadError, match=r"Values\.BAD"):
        load_settings(tmp_path, environ={})


def test_encrypted_settings_are_refused(tmp_path: Path) -> None:
    """An encrypted local.settings.json cannot be read here."""
    write_json(tmp_path, "local.settings.json", {"IsEncrypted": True, "Values": {}})
    with pytest.raises(AppLoadError, match="encrypted"):
        load_settings(tmp_path, environ={})


def test_environment_wins_over_values(tmp_path: Path) -> None:
    """``get`` prefers the environment, falls back to Values, else None."""
    write_json(tmp_path, "local.settings.json", {"Values": {"A": "file", "B": "file"}})
    settings = load_settings(tmp_path, environ={})
    env = {"A": "env"}
    assert (settings.get("A", env), settings.get("B", env), settings.get("C", env)) == (
        "env", "file", None)


def test_apply_values_never_overwrites(tmp_path: Path) -> None:
    """Applying Values fills only unset variables and reports which."""
    write_json(tmp_path, "local.settings.json", {"Values": {"A": "file", "B": "file"}})
    env = {"A": "env"}
    applied = apply_values(load_settings(tmp_path, environ=env), env)
    assert applied == ["B"]
    assert env == {"A": "env", "B": "file"}


def test_values_stay_out_of_repr(tmp_path: Path) -> None:
    """Values may hold secrets, so the settings' repr leaves them out."""
    write_json(tmp_path, "local.settings.json", {"Values": {"TOKEN": "s3cr3t"}})
    assert "s3cr3t" not in repr(load_settings(tmp_path, environ={}))
