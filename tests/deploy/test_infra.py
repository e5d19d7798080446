"""Infrastructure as code: checkov passes on infra/, and the Bicep says what docs/DEPLOYING.md does.

checkov (pinned in infra/checkov.txt) runs from a virtualenv of its own, offline
(``--skip-download``). The Bicep is read with pycep, the parser checkov itself uses, so the
shape checks below look at parsed templates rather than at text.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tool_venv import tool_venv
from tests.support import APP_DIR

pytestmark = pytest.mark.e2e  # the first run installs checkov from the package index

INFRA = APP_DIR / "infra"
CHECKOV_REQUIREMENTS = INFRA / "checkov.txt"
BICEP_DUMP = APP_DIR / "tests" / "deploy" / "bicep_dump.py"
RUN_TIMEOUT_SECONDS = 600
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+):(.*)")
MIN_REASON_CHARS = 40


@pytest.fixture(scope="module")
def checkov_venv() -> Path:
    """The virtualenv checkov runs from."""
    return tool_venv("checkov", CHECKOV_REQUIREMENTS)


@pytest.fixture(scope="module")
def checkov_report(checkov_venv: Path) -> dict[str, Any]:
    """checkov's JSON report on infra/ (Bicep only, nothing downloaded); it must exit 0."""
    done = subprocess.run(
        [str(checkov_venv / "bin" / "checkov"), "-d", str(INFRA), "--framework", "bicep",
         "--skip-download", "--output", "json"],
        cwd=APP_DIR, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0, f"checkov failed:\n{done.stdout[-8000:]}\n{done.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def templates(checkov_venv: Path) -> dict[str, Any]:
    """infra/*.bicep parsed by pycep, by file name."""
    files = sorted(str(path) for path in INFRA.glob("*.bicep"))
    done = subprocess.run([str(checkov_venv / "bin" / "python"), str(BICEP_DUMP), *files],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=True)
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def skip_comments() -> dict[str, str]:
    """Every ``checkov:skip`` comment in the Bicep: check id -> the reason given."""
    found: dict[str, str] = {}
    for path in INFRA.glob("*.bicep"):
        for match in SKIP_COMMENT.finditer(path.read_text(encoding="utf-8")):
            found[match.group(1)] = match.group(2).strip()
    return found


def test_checkov_passes_on_infra_with_no_failed_check(checkov_report: dict[str, Any]) -> None:
    """Every Bicep resource scanned, no parsing error, no failed check."""
    summary = checkov_report["summary"]
    assert (summary["failed"], summary["parsing_errors"]) == (0, 0), checkov_report["results"]
    assert summary["passed"] > 0
    assert summary["resource_count"] >= 15


def test_each_skipped_check_is_named_and_justified_in_the_bicep(
        checkov_report: dict[str, Any]) -> None:
    """What checkov skipped is exactly what the comments name, each with a real reason."""
    skipped = {check["check_id"]: check["check_result"]["suppress_comment"].strip()
               for check in checkov_report["results"]["skipped_checks"]}
    comments = skip_comments()
    assert skipped == comments
    short = {check: reason for check, reason in comments.items()
             if len(reason) < MIN_REASON_CHARS}
    assert short == {}


def resource(templates: dict[str, Any], name: str) -> dict[str, Any]:
    """The parsed body of resource ``name`` in app.bicep."""
    body: dict[str, Any] = templates["app.bicep"]["resources"][name]["config"]
    return body


def app_settings(templates: dict[str, Any]) -> dict[str, Any]:
    """The Function App's application settings, by name."""
    site = resource(templates, "site")
    return {item["name"]: item["value"] for item in site["properties"]["siteConfig"]["appSettings"]}


def test_the_function_app_is_flex_consumption_python_311_on_linux(
        templates: dict[str, Any]) -> None:
    """FC1 plan, Linux, the Python 3.11 runtime, deployed from a blob container by identity."""
    plan = resource(templates, "plan")
    assert (plan["sku"]["tier"], plan["sku"]["name"], plan["properties"]["reserved"]) == (
        "FlexConsumption", "FC1", True)
    site = resource(templates, "site")
    assert site["kind"] == "functionapp,linux"
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert (storage["type"], storage["authentication"]["type"]) == (
        "blobContainer", "UserAssignedIdentity")
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "api"}


def test_https_only_tls_12_and_no_ftp_or_basic_auth_publishing(
        templates: dict[str, Any]) -> None:
    """HTTPS only, TLS 1.2 at least (site and Kudu), FTP off, basic-auth publishing off."""
    site = resource(templates, "site")["properties"]
    assert site["httpsOnly"] is True
    assert (site["siteConfig"]["minTlsVersion"], site["siteConfig"]["scmMinTlsVersion"],
            site["siteConfig"]["ftpsState"]) == ("1.2", "1.2", "Disabled")
    for policy in ("ftpPublishing", "scmPublishing"):
        assert resource(templates, policy)["properties"]["allow"] is False


def test_storage_is_reached_by_managed_identity_without_keys(templates: dict[str, Any]) -> None:
    """AzureWebJobsStorage by identity, shared keys off, and the roles the task hub needs."""
    settings = app_settings(templates)
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage" not in settings
    assert not [name for name, value in settings.items() if "AccountKey" in str(value)]
    storage = resource(templates, "storage")["properties"]
    assert (storage["allowSharedKeyAccess"], storage["minimumTlsVersion"],
            storage["supportsHttpsTrafficOnly"]) == (False, "TLS1_2", True)
    for path in INFRA.glob("*.bicep"):
        assert "listKeys(" not in path.read_text(encoding="utf-8")
    roles = templates["app.bicep"]["variables"]["roles"]["value"]
    granted = templates["app.bicep"]["variables"]["storageRoleIds"]["value"]
    assert {role["operator"]["operands"]["operand_2"] for role in granted} == {
        "storageBlobDataOwner", "storageQueueDataContributor", "storageTableDataContributor"}
    assert set(roles) >= {"keyVaultSecretsUser", "monitoringMetricsPublisher"}


def test_the_fcm_service_account_is_a_key_vault_reference(templates: dict[str, Any]) -> None:
    """FCM_SERVICE_ACCOUNT_JSON names the vault's secret; its value comes from a secure param."""
    settings = app_settings(templates)
    assert re.fullmatch(r"@Microsoft\.KeyVault\(VaultName=\$\{vault\.name\};"
                        r"SecretName=\$\{fcmSecretName\}\)",
                        settings["FCM_SERVICE_ACCOUNT_JSON"])
    # Written only when a value is given, so provisioning again without one keeps the secret.
    secret = resource(templates, "fcmSecret")
    assert "fcmServiceAccountJson" in json.dumps(secret["condition"])
    assert secret["config"]["properties"] == {"value": "fcmServiceAccountJson",
                                              "contentType": "application/json"}
    parameter = templates["app.bicep"]["parameters"]["fcmServiceAccountJson"]
    assert "secure" in json.dumps(parameter["decorators"])
    vault = resource(templates, "vault")["properties"]
    assert (vault["enableRbacAuthorization"], vault["enablePurgeProtection"]) == (True, True)
    assert resource(templates, "site")["properties"]["keyVaultReferenceIdentity"]


def test_application_insights_sits_on_log_analytics_and_takes_entra_only(
        templates: dict[str, Any]) -> None:
    """A workspace-based component, local auth off; the app sends with its identity."""
    insights = resource(templates, "insights")["properties"]
    assert insights["DisableLocalAuth"] is True
    assert "workspace" in json.dumps(insights["WorkspaceResourceId"])
    settings = app_settings(templates)
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].endswith(";Authorization=AAD")
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
