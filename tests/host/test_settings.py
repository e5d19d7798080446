"""host.json and local.settings.json: defaults, overrides, and applying Values."""

import json
import os
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


# Concurrency: host.json's durableTask throttles and the Python worker's thread count ----------

def durable_task(folder: Path, **throttles: object) -> None:
    """Write a host.json whose extensions.durableTask holds ``throttles``."""
    write_json(folder, "host.json", {"version": "2.0", "extensions": {"durableTask": throttles}})


def test_concurrency_defaults_are_azures_for_one_dedicated_instance(tmp_path: Path) -> None:
    """Unset, both throttles are 10 x the processors and the thread count is Python's default."""
    settings = load_settings(tmp_path, environ={})
    per_instance = 10 * (os.cpu_count() or 1)
    assert (settings.max_concurrent_activities, settings.max_concurrent_orchestrators,
            settings.thread_count) == (per_instance, per_instance, None)


def test_concurrency_is_read_from_host_json_and_app_settings(tmp_path: Path) -> None:
    """The throttles come from extensions.durableTask, the thread count from Values."""
    durable_task(tmp_path, maxConcurrentActivityFunctions=7, maxConcurrentOrchestratorFunctions=3)
    write_json(tmp_path, "local.settings.json", {"Values": {"PYTHON_THREADPOOL_THREAD_COUNT": 2}})
    settings = load_settings(tmp_path, environ={})
    assert (settings.max_concurrent_activities, settings.max_concurrent_orchestrators,
            settings.thread_count) == (7, 3, 2)
    assert load_settings(tmp_path, environ={"PYTHON_THREADPOOL_THREAD_COUNT": "5"}
                         ).thread_count == 5


def test_an_app_setting_overrides_a_host_json_throttle(tmp_path: Path) -> None:
    """AzureFunctionsJobHost__extensions__durableTask__<name> wins over host.json, as in Azure."""
    durable_task(tmp_path, maxConcurrentActivityFunctions=7)
    name = "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions"
    assert load_settings(tmp_path, environ={name: "300"}).max_concurrent_activities == 300
    write_json(tmp_path, "local.settings.json", {"Values": {name: "40"}})
    assert load_settings(tmp_path, environ={}).max_concurrent_activities == 40


@pytest.mark.parametrize("name", ["maxConcurrentActivityFunctions",
                                  "maxConcurrentOrchestratorFunctions"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "ten", True, [4]])
def test_a_throttle_that_is_no_positive_integer_is_refused(tmp_path: Path, name: str,
                                                            value: object) -> None:
    """A throttle the Durable extension would refuse stops the start, naming the setting."""
    durable_task(tmp_path, **{name: value})
    with pytest.raises(AppLoadError, match=f"{name} must be a positive integer"):
        load_settings(tmp_path, environ={})


def test_a_bad_overriding_app_setting_is_refused(tmp_path: Path) -> None:
    """An overriding app setting that is no positive integer is refused under its own name."""
    name = "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentOrchestratorFunctions"
    with pytest.raises(AppLoadError, match=f"app setting {name} must be a positive integer"):
        load_settings(tmp_path, environ={name: "0"})


@pytest.mark.parametrize("value", ["0", "-2", "four", "1.5"])
def test_a_bad_thread_count_is_refused(tmp_path: Path, value: str) -> None:
    """PYTHON_THREADPOOL_THREAD_COUNT below 1 or not a whole number is refused at start."""
    with pytest.raises(AppLoadError, match="PYTHON_THREADPOOL_THREAD_COUNT must be a whole"):
        load_settings(tmp_path, environ={"PYTHON_THREADPOOL_THREAD_COUNT": value})
