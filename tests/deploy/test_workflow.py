"""The CI/CD workflow and azure.yaml: their shape, read as YAML.

What these cannot show is whether Azure accepts the sign-in and the deploy: that needs a
subscription, a federated credential and a run on the hosted runners (docs/DEPLOYING.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import APP_DIR

WORKFLOW = APP_DIR / ".github" / "workflows" / "ci.yml"
AZURE_YAML = APP_DIR / "azure.yaml"
INFRA = APP_DIR / "infra"
OIDC_INPUTS = {"client-id": "AZURE_CLIENT_ID", "tenant-id": "AZURE_TENANT_ID",
               "subscription-id": "AZURE_SUBSCRIPTION_ID"}


def load(path: Path) -> dict[str, Any]:
    """A YAML file as a dict."""
    value = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    """The workflow file, parsed."""
    return load(WORKFLOW)


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` block (YAML 1.1 reads a bare ``on`` key as True)."""
    value = workflow.get("on", workflow.get(True))
    assert isinstance(value, dict)
    return value


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The job's steps that use ``action`` (owner/name, any version, any case)."""
    return [step for step in job["steps"]
            if str(step.get("uses", "")).lower().startswith(f"{action.lower()}@")]


def step_index(job: dict[str, Any], step: dict[str, Any]) -> int:
    """Where ``step`` is among the job's steps."""
    return [id(item) for item in job["steps"]].index(id(step))


def test_tests_run_on_every_push_and_pull_request(workflow: dict[str, Any]) -> None:
    """Both events, on every branch, run ``make test`` unconditionally."""
    on = triggers(workflow)
    assert set(on) >= {"push", "pull_request"}
    for event in ("push", "pull_request"):
        assert not (on[event] or {}).get("branches"), f"{event} is limited to some branches"
    test = workflow["jobs"]["test"]
    assert "if" not in test
    assert [step["run"] for step in test["steps"] if "run" in step] == ["make test"]


def test_the_deploy_job_runs_on_main_after_the_tests_only(workflow: dict[str, Any]) -> None:
    """A push to main, once the test job passed; never a pull request or another branch."""
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] in ("test", ["test"])
    condition = deploy["if"]
    assert "github.ref == 'refs/heads/main'" in condition
    assert "github.event_name == 'push'" in condition
    assert "||" not in condition


def test_the_deploy_signs_in_with_oidc_and_the_repo_holds_no_secret(
        workflow: dict[str, Any]) -> None:
    """id-token: write on the deploy job alone; azure/login takes ids from variables only."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "secrets." not in text
    assert workflow["permissions"] == {"contents": "read"}
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    assert "permissions" not in workflow["jobs"]["test"]
    [login] = steps_using(deploy, "azure/login")
    assert login["with"] == {name: f"${{{{ vars.{variable} }}}}"
                             for name, variable in OIDC_INPUTS.items()}


def test_the_deploy_uploads_what_make_package_built(workflow: dict[str, Any]) -> None:
    """``make package`` runs first; functions-action deploys that zip to Flex Consumption."""
    deploy = workflow["jobs"]["deploy"]
    [build] = [step for step in deploy["steps"] if step.get("run") == "make package"]
    [login] = steps_using(deploy, "azure/login")
    [publish] = steps_using(deploy, "Azure/functions-action")
    assert step_index(deploy, build) < step_index(deploy, publish)
    assert step_index(deploy, login) < step_index(deploy, publish)
    inputs = publish["with"]
    assert inputs["package"] == "dist/function-app.zip"
    assert (inputs["sku"], inputs["remote-build"]) == ("flexconsumption", True)
    assert "publish-profile" not in inputs
    assert inputs["app-name"] == "${{ vars.AZURE_FUNCTION_APP_NAME }}"


def test_azure_yaml_deploys_this_folder_as_a_python_function_app() -> None:
    """One service, the repository root, on Azure Functions; infra/main.bicep provisions it."""
    config = load(AZURE_YAML)
    assert config["services"] == {"api": {"project": ".", "language": "python",
                                          "host": "function"}}
    infra = config["infra"]
    assert infra["provider"] == "bicep"
    assert (APP_DIR / infra["path"] / f"{infra['module']}.bicep").is_file()


def test_every_bicep_parameter_without_a_default_comes_from_the_azd_environment() -> None:
    """main.parameters.json maps each required parameter of main.bicep to an azd variable."""
    source = (INFRA / "main.bicep").read_text(encoding="utf-8")
    declared = re.findall(r"^param (\w+) \w+( =)?", source, flags=re.MULTILINE)
    required = {name for name, default in declared if not default}
    mapped = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    values = mapped["parameters"]
    assert required <= set(values)
    assert set(values) <= {name for name, _ in declared}
    for name in values:
        assert re.fullmatch(r"\$\{[A-Z_]+\}", values[name]["value"]), name
    # The service the site is tagged with is the one azure.yaml deploys.
    assert "'azd-service-name': 'api'" in (INFRA / "app.bicep").read_text(encoding="utf-8")
