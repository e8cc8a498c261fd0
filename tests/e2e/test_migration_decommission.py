"""decommission_stan against the real API server: after a verified migration it removes the STAN
objects from Kubernetes (roles/stan, state absent); STAN itself and the migration run as local
processes (tests/lib/migration_env.py) and keep their data. The StatefulSet's pods never start
(no store claim is made): only the objects and their removal are under test here."""

from __future__ import annotations

import pytest
from kubernetes.client import AppsV1Api
from kubernetes.client.exceptions import ApiException

from tests.lib.ansible_runner import run_playbook
from tests.lib.migration_env import PLAYBOOK, Channel, fill, start_env
from tests.lib.stanclient import StanClient, build_stanclient

STAN_OBJECTS = """---
- name: The STAN objects, as aws.yml applies them
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply the stan role
      ansible.builtin.include_role:
        name: nats_streaming.ft.stan
      vars:
        stan_namespace: {namespace}
        stan_claim_check: false
        stan_wait: false
        stan_exporter_enabled: false
"""

NAMESPACE_PREFIX = "e2e-decom"  # of the conftest namespace fixture


def test_decommission_after_a_verified_migration_removes_the_statefulset_and_keeps_stan_data(
        localenv, kube, namespace, tmp_path):
    playbook = tmp_path / "stan.yml"
    playbook.write_text(STAN_OBJECTS.format(namespace=namespace))
    deployed = run_playbook(playbook, env=localenv["env"])
    assert deployed.rc == 0, deployed.stdout[-3000:]
    assert AppsV1Api(kube).read_namespaced_stateful_set("stan", namespace).spec.replicas == 3

    env = start_env(tmp_path / "servers", StanClient(build_stanclient()))
    try:
        fill(env, [Channel("orders", 500, durable=("billing", "", 1, 200)), Channel("events", 300)])
        migrated = env.migrate()
        assert migrated.rc == 0, migrated.stdout[-3000:]
        result = run_playbook(PLAYBOOK, extra_vars=env.vars(decommission_stan=True, k8s_namespace=namespace),
                              env=localenv["env"])
        assert result.rc == 0, result.stdout[-4000:]
        assert result.task("Migrate and verify the channels and durable subscriptions")["changed"] is False
        with pytest.raises(ApiException) as gone:
            AppsV1Api(kube).read_namespaced_stateful_set("stan", namespace)
        assert gone.value.status == 404
        # STAN's data is untouched: the servers still hold every message.
        assert {c["name"]: c["msgs"] for c in env.channelsz().values()} == {"orders": 500, "events": 300}
    finally:
        env.stan.stop()
        env.js.stop()
