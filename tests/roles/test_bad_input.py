"""Bad input fails in the role's first task (argument spec validation or the input assert),
with a message that names the variable, before anything talks to a cluster."""

from __future__ import annotations

import base64
import re

import pytest

from .rendering import GUIDE_INPUTS, render_cases

EFS = GUIDE_INPUTS["efs_provisioner"]
AZURE = GUIDE_INPUTS["azure_files"]
SECRET_KEY = "bm90LWEtcmVhbC1rZXktMTIzNDU2Nzg5MA=="

FIRST_TASKS = {
    "stan": ("Validating arguments against arg spec", "Validate the STAN input"),
    "efs_provisioner": ("Validating arguments against arg spec", "Validate the EFS storage input"),
    "azure_files": ("Validating arguments against arg spec", "Validate the Azure Files input"),
    "nats_jetstream": ("Validating arguments against arg spec", "Validate the NATS JetStream input"),
}

# name: (role, vars, fragments the failure message must contain)
BAD = {
    "ft_with_one_replica": ("stan", {"stan_replicas": 1}, ["stan_replicas", "at least 2"]),
    "ft_with_zero_replicas": ("stan", {"stan_replicas": 0}, ["stan_replicas", "at least 2"]),
    "stan_invalid_namespace": ("stan", {"stan_namespace": "Not_A_Namespace"}, ["stan_namespace", "not a valid namespace"]),
    "stan_invalid_cluster_id": ("stan", {"stan_cluster_id": "my.cluster"}, ["stan_cluster_id", "invalid"]),
    "stan_cluster_id_with_space": ("stan", {"stan_cluster_id": "my cluster"}, ["stan_cluster_id"]),
    "stan_replicas_not_a_number": ("stan", {"stan_replicas": "three"}, ["stan_replicas"]),
    "stan_unknown_anti_affinity": ("stan", {"stan_anti_affinity": "sometimes"}, ["stan_anti_affinity"]),
    "stan_unknown_file_option": ("stan", {"stan_file_options": {"bufer_size": "32mb"}}, ["stan_file_options", "bufer_size"]),
    "stan_latest_image": ("stan", {"stan_image": "nats-streaming:latest"}, ["stan_image", "pinned"]),
    "stan_store_outside_volume": ("stan", {"stan_store_dir": "/var/lib/stan"}, ["stan_store_dir", "stan_data_mount"]),
    "stan_port_clash": ("stan", {"stan_metrics_port": 8222}, ["stan_monitor_port 8222, stan_metrics_port 8222", "different"]),
    "stan_port_out_of_range": ("stan", {"stan_client_port": 70000}, ["stan_client_port 70000"]),
    "stan_unpinned_init_image": ("stan", {"stan_init_image": "busybox"}, ["stan_init_image 'busybox'", "pinned"]),
    "efs_read_write_once": ("efs_provisioner", {**EFS, "efs_provisioner_claim_access_mode": "ReadWriteOnce"},
                            ["efs_provisioner_claim_access_mode", "ReadWriteMany"]),
    "efs_invalid_namespace": ("efs_provisioner", {**EFS, "efs_provisioner_namespace": "-bad-"}, ["efs_provisioner_namespace"]),
    "efs_invalid_storage_class_name": ("efs_provisioner", {**EFS, "efs_provisioner_storage_class_name": "AWS_EFS"},
                                       ["efs_provisioner_storage_class_name 'AWS_EFS'", "is not a valid object name"]),
    "efs_invalid_pv_name": ("efs_provisioner", {**EFS, "efs_provisioner_pv_name": "x" * 254}, ["efs_provisioner_pv_name"]),
    "efs_derived_pv_name_too_long": ("efs_provisioner", {**EFS, "efs_provisioner_claim_name": "c" * 250},
                                     ["efs_provisioner_namespace", "efs_provisioner_claim_name", "efs_provisioner_pv_name"]),
    "efs_bad_file_system_id": ("efs_provisioner", {**EFS, "efs_provisioner_file_system_id": "c22a24bb"},
                               ["efs_provisioner_file_system_id"]),
    "efs_latest_image": ("efs_provisioner", {**EFS, "efs_provisioner_image": "quay.io/external_storage/efs-provisioner:latest"},
                         ["efs_provisioner_image", "pinned"]),
    "efs_unknown_mode": ("efs_provisioner", {**EFS, "efs_provisioner_mode": "dynamic"}, ["efs_provisioner_mode"]),
    "azure_read_write_once": ("azure_files", {**AZURE, "azure_files_claim_access_mode": "ReadWriteOnce"},
                              ["azure_files_claim_access_mode", "ReadWriteMany"]),
    "azure_nobrl": ("azure_files", {**AZURE, "azure_files_storage_account_key": SECRET_KEY,
                                    "azure_files_mount_options": ["mfsymlinks", "nobrl"]},
                    ["azure_files_mount_options", "nobrl", "lock", "FT"]),
    "azure_nobrl_in_combined_option": ("azure_files", {**AZURE, "azure_files_mount_options": ["dir_mode=0777,nobrl"]},
                                       ["nobrl"]),
    "azure_invalid_namespace": ("azure_files", {**AZURE, "azure_files_namespace": "a" * 64}, ["azure_files_namespace"]),
    "azure_invalid_secret_name": ("azure_files", {**AZURE, "azure_files_secret_name": "Azure_Secret"}, ["azure_files_secret_name"]),
    "azure_bad_claim_size": ("azure_files", {**AZURE, "azure_files_claim_size": "lots"}, ["azure_files_claim_size 'lots'"]),
    "azure_smb_without_key": ("azure_files", {**AZURE, "azure_files_storage_account_key": ""},
                              ["azure_files_storage_account_key"]),
    "azure_unknown_protocol": ("azure_files", {**AZURE, "azure_files_protocol": "cifs"}, ["azure_files_protocol"]),
    "js_even_replicas": ("nats_jetstream", {"nats_jetstream_replicas": 2}, ["nats_jetstream_replicas", "odd number", "RAFT"]),
    "js_zero_replicas": ("nats_jetstream", {"nats_jetstream_replicas": 0}, ["nats_jetstream_replicas"]),
    "js_invalid_name": ("nats_jetstream", {"nats_jetstream_name": "NATS"}, ["nats_jetstream_name"]),
    "js_short_lame_duck": ("nats_jetstream", {"nats_jetstream_lame_duck_duration": "10s"},
                           ["nats_jetstream_lame_duck_duration", "under 30s"]),
    "js_bad_size": ("nats_jetstream", {"nats_jetstream_max_file_store": "lots"}, ["nats_jetstream_max_file_store"]),
    "js_store_outside_volume": ("nats_jetstream", {"nats_jetstream_store_dir": "/var/lib/nats"},
                                ["nats_jetstream_store_dir", "nats_jetstream_data_mount"]),
    "js_latest_image": ("nats_jetstream", {"nats_jetstream_image": "nats:latest"}, ["nats_jetstream_image", "pinned"]),
    "js_same_ports": ("nats_jetstream", {"nats_jetstream_cluster_port": 4222}, ["nats_jetstream_cluster_port"]),
    "js_unknown_anti_affinity": ("nats_jetstream", {"nats_jetstream_anti_affinity": "maybe"},
                                 ["nats_jetstream_anti_affinity"]),
}


# Variables a message may name besides the ones the case set: the fix it suggests.
SUGGESTED_FIXES = {
    "stan_store_outside_volume": {"stan_data_mount"},
    "stan_port_clash": {"stan_monitor_port"},  # the default it collides with
    "azure_nobrl": {"azure_files_protocol"},
    "azure_nobrl_in_combined_option": {"azure_files_protocol"},
    "azure_smb_without_key": {"azure_files_secret_name", "azure_files_create_secret", "azure_files_protocol"},
    "efs_derived_pv_name_too_long": {"efs_provisioner_namespace", "efs_provisioner_pv_name"},
}
VARIABLE = re.compile(r"\b(?:stan|efs_provisioner|azure_files)_[a-z0-9_]+")


@pytest.fixture(scope="module")
def failures(tmp_path_factory):
    # Not render-only: if validation let the input through, the role would go on to the cluster,
    # which points nowhere here, and fail in a different task.
    nowhere = str(tmp_path_factory.mktemp("nokube") / "missing-kubeconfig")
    env = {"KUBECONFIG": nowhere, "K8S_AUTH_KUBECONFIG": nowhere, "K8S_AUTH_HOST": "https://127.0.0.1:9"}
    cases = {name: case[:2] for name, case in BAD.items()}
    results, play = render_cases(cases, tmp_path_factory.mktemp("bad"), env=env, render_only=False)
    return results, play


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_fails_in_the_first_task_with_a_clear_message(failures, name):
    role, _vars, fragments = BAD[name]
    result = failures[0][name]
    assert result["failed"], f"{name} was accepted"
    assert result["task"].startswith(FIRST_TASKS[role]), f"{name} failed in {result['task']!r}: {result['msg']}"
    for fragment in fragments:
        assert fragment in result["msg"], f"{name}: {fragment!r} not in {result['msg']!r}"


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_names_only_the_variables_the_user_set(failures, name):
    """A message names the variables the case set (and a suggested fix), never ones derived from them."""
    _role, variables, _fragments = BAD[name]
    named = set(VARIABLE.findall(failures[0][name]["msg"]))
    unexpected = named - set(variables) - SUGGESTED_FIXES.get(name, set())
    assert not unexpected, f"{name}: the message names {sorted(unexpected)}, which the case did not set: {failures[0][name]['msg']}"


def test_the_storage_account_key_never_appears_in_output(tmp_path):
    """Rendered and refused, at -vvv: neither the key nor its base64 form is ever printed."""
    cases = {
        "rendered": ("azure_files", {**AZURE, "azure_files_storage_account_key": SECRET_KEY}),
        "refused_nobrl": ("azure_files", {**AZURE, "azure_files_storage_account_key": SECRET_KEY,
                                          "azure_files_mount_options": ["nobrl"]}),
        "refused_by_spec": ("azure_files", {**AZURE, "azure_files_storage_account_key": SECRET_KEY,
                                            "azure_files_protocol": "cifs"}),
    }
    results, play = render_cases(cases, tmp_path, args=["-vvv"])
    assert [results[name]["failed"] for name in cases] == [False, True, True]
    secret = next(o for o in results["rendered"]["manifests"] if o["kind"] == "Secret")
    encoded = base64.b64encode(SECRET_KEY.encode()).decode()
    assert secret["data"]["azurestorageaccountkey"] == encoded
    output = play.stdout + play.stderr
    assert len(output) > 10000, "expected verbose output"
    assert SECRET_KEY not in output
    assert encoded not in output
