"""Run a playbook the way AWX runs a job template: ansible-runner, survey answers as extra vars,
credentials injected as environment variables by AWX's credential types.

The injectors mirror AWX's own (awx/main/models/credential/injectors.py):

- Amazon Web Services: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and AWS_SECURITY_TOKEN when the
  credential has an STS token.
- Microsoft Azure Resource Manager (service principal): AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID,
  AZURE_TENANT, AZURE_SECRET, and AZURE_CLOUD_ENVIRONMENT when the credential names a cloud.
- OpenShift or Kubernetes API Bearer Token: K8S_AUTH_HOST, K8S_AUTH_API_KEY, and
  K8S_AUTH_VERIFY_SSL=True with K8S_AUTH_SSL_CA_CERT (the CA written to a file in the job's
  private data directory) when "verify SSL" is on and a CA is given; otherwise
  K8S_AUTH_VERIFY_SSL=False.

Nothing else of the test process's environment reaches the job: no KUBECONFIG, no AWS profile.
The only additions are what a test environment needs and an execution environment has built
in: the AWS endpoint (the emulator) and the CA bundle of the Azure stand-in, the collection on
ANSIBLE_COLLECTIONS_PATH, and ansible-playbook on PATH.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.lib.paths import REPO, stage_collection

SURVEYS = REPO / "docs" / "awx"
# Variables of the test process that must not leak into a job (AWX starts jobs with a clean environment).
SCRUB_PREFIXES = ("AWS_", "AZURE_", "K8S_AUTH_", "KUBECONFIG", "ANSIBLE_", "REQUESTS_CA_BUNDLE", "NSFT_")


def survey(name: str) -> dict:
    return json.loads((SURVEYS / f"survey-{name}.json").read_text())


def survey_extra_vars(spec: dict, answers: dict) -> dict:
    """What AWX passes as extra vars: each question's answer, else its default.

    A question without an answer and with an empty default is left out (AWX does not send an
    optional text question left blank). Answers outside the survey's own constraints are not
    checked here: the tests use them to reach the playbook's validation on purpose.
    """
    unknown = set(answers) - {q["variable"] for q in spec["spec"]}
    assert not unknown, f"not survey questions: {unknown}"
    extra = {}
    for question in spec["spec"]:
        name = question["variable"]
        if name in answers:
            extra[name] = answers[name]
        elif question.get("default") not in (None, ""):
            extra[name] = question["default"]
        elif question.get("required"):
            raise AssertionError(f"required survey question {name} has no answer and no default")
    return extra


def aws_credential(access_key: str, secret_key: str, security_token: str | None = None) -> dict[str, str]:
    env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    if security_token:
        env["AWS_SECURITY_TOKEN"] = security_token
    return env


def azure_rm_credential(subscription: str, client: str, secret: str, tenant: str, cloud_environment: str | None = None) -> dict[str, str]:
    env = {"AZURE_SUBSCRIPTION_ID": subscription, "AZURE_CLIENT_ID": client, "AZURE_TENANT": tenant, "AZURE_SECRET": secret}
    if cloud_environment:
        env["AZURE_CLOUD_ENVIRONMENT"] = cloud_environment
    return env


def kubernetes_bearer_token_credential(private_data_dir: Path, host: str, token: str, ca_pem: str | None,
                                       verify_ssl: bool = True) -> dict[str, str]:
    env = {"K8S_AUTH_HOST": host, "K8S_AUTH_API_KEY": token}
    if verify_ssl and ca_pem:
        env_dir = private_data_dir / "env"
        env_dir.mkdir(parents=True, exist_ok=True)
        ca_file = env_dir / "k8s-ca.pem"
        ca_file.write_text(ca_pem)
        ca_file.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP)
        env.update(K8S_AUTH_VERIFY_SSL="True", K8S_AUTH_SSL_CA_CERT=str(ca_file))
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


@dataclass
class Job:
    rc: int
    status: str
    stats: dict
    events: list[dict]
    stdout: str

    @property
    def changed(self) -> int:
        return sum((self.stats or {}).get("changed", {}).values())

    @property
    def failed_tasks(self) -> list[dict]:
        return [e["event_data"] for e in self.events if e.get("event") == "runner_on_failed"
                and not e["event_data"].get("ignore_errors")]

    def task_result(self, name: str) -> dict:
        found = [e["event_data"]["res"] for e in self.events
                 if e.get("event") in ("runner_on_ok", "runner_on_failed") and e["event_data"].get("task") == name]
        assert found, f"no task named {name!r} ran"
        return found[-1]


def run_job(playbook: str, extra_vars: dict, credentials: dict[str, str], private_data_dir: Path,
            endpoints: dict[str, str] | None = None, monkeypatch=None) -> Job:
    """One job: ansible-runner in the project checkout, localhost inventory, like AWX."""
    import ansible_runner

    assert monkeypatch is not None, "pass pytest's monkeypatch: the job's environment is built from a scrubbed one"
    for key in list(os.environ):
        if key.startswith(SCRUB_PREFIXES):
            monkeypatch.delenv(key)
    # No kubeconfig anywhere the Kubernetes client would look for one.
    monkeypatch.setenv("HOME", str(private_data_dir))
    envvars = {
        **credentials,
        **(endpoints or {}),
        "ANSIBLE_COLLECTIONS_PATH": str(stage_collection()),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    private_data_dir.mkdir(parents=True, exist_ok=True)
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(REPO),
        playbook=playbook,
        inventory="localhost ansible_connection=local ansible_python_interpreter=" + sys.executable,
        extravars=extra_vars,
        envvars=envvars,
        quiet=True,
        timeout=1800,
    )
    stdout = runner.stdout.read() if runner.stdout else ""
    return Job(rc=runner.rc, status=runner.status, stats=runner.stats or {}, events=list(runner.events), stdout=stdout)
