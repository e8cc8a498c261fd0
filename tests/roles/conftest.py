"""Render every standard case of the three roles once per test session."""

from __future__ import annotations

import pytest

from .rendering import GUIDE_INPUTS, render_cases

AZURE = GUIDE_INPUTS["azure_files"]
EFS = GUIDE_INPUTS["efs_provisioner"]

# Cases rendered for the parity, validation and checksum tests.
STANDARD_CASES = {
    # The seed guide's inputs.
    "efs_guide": ("efs_provisioner", EFS),
    "efs_guide_other_namespace": ("efs_provisioner", {**EFS, "efs_provisioner_namespace": "stan-system"}),
    "stan_guide": ("stan", {}),
    "azure_guide": ("azure_files", AZURE),
    # The guide's Azure section (Helm values): 2 replicas on an external NATS, FT group my-group.
    "stan_azure_guide": ("stan", {
        "stan_replicas": 2,
        "stan_nats_url": "nats://nats:4222",
        "stan_ft_group": "my-group",
        "stan_claim_name": "stan-efs",
    }),
    # Other modes and options, for kubernetes-validate.
    "efs_csi": ("efs_provisioner", {**EFS, "efs_provisioner_mode": "csi",
                                    "efs_provisioner_pv_mount_options": ["tls"]}),
    "efs_provisioner_custom": ("efs_provisioner", {**EFS, "efs_provisioner_namespace": "storage",
                                                   "efs_provisioner_dns_name": "fs-c22a24bb.efs.example.internal",
                                                   "efs_provisioner_resources": {"requests": {"cpu": "10m"}}}),
    "azure_nfs": ("azure_files", {**AZURE, "azure_files_protocol": "nfs", "azure_files_storage_account_key": "",
                                  "azure_files_resource_group": "rg-stan"}),
    "stan_everything": ("stan", {
        "stan_namespace": "messaging",
        "stan_network_policy_enabled": True,
        "stan_network_policy_client_from": [{"namespaceSelector": {"matchLabels": {"team": "orders"}}}],
        "stan_network_policy_monitor_from": [{"podSelector": {"matchLabels": {"app": "prometheus"}}}],
        "stan_service_monitor_enabled": True,
        "stan_service_monitor_labels": {"release": "prometheus"},
        "stan_anti_affinity": "preferred",
        "stan_zone_spread_when_unsatisfiable": "DoNotSchedule",
        "stan_node_selector": {"kubernetes.io/os": "linux"},
        "stan_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "stan", "effect": "NoSchedule"}],
        "stan_priority_class_name": "system-cluster-critical",
        "stan_image_pull_secrets": ["regcred"],
        "stan_metrics_port": 7778,
        "stan_channel_limits": {"orders.>": {"max_age": "24h", "max_msgs": 1000000}},
        "stan_pdb_max_unavailable": "34%",
    }),
    "stan_minimal": ("stan", {
        "stan_exporter_enabled": False,
        "stan_pdb_enabled": False,
        "stan_anti_affinity": "none",
        "stan_zone_spread": False,
        "stan_volume_permissions_init": False,
    }),
    "stan_external_nats_policy": ("stan", {"stan_nats_url": "nats://nats:4222", "stan_network_policy_enabled": True}),
    # Checksum cases: one knob changed against stan_guide.
    "stan_replicas_5": ("stan", {"stan_replicas": 5}),
    "stan_buffer_64mb": ("stan", {"stan_file_options": {"buffer_size": "64mb", "sync_on_flush": True,
                                                        "slice_max_bytes": "512mb", "parallel_recovery": 64}}),
    "stan_extra_label": ("stan", {"stan_extra_labels": {"team": "orders"}}),
    # The JetStream cluster, the plain NATS cluster (STAN's external NATS) and every option.
    "nats_jetstream_default": ("nats_jetstream", {}),
    "nats_plain": ("nats_jetstream", {"nats_jetstream_enabled": False, "nats_jetstream_namespace": "stan"}),
    "nats_jetstream_everything": ("nats_jetstream", {
        "nats_jetstream_namespace": "messaging",
        "nats_jetstream_name": "js",
        "nats_jetstream_replicas": 5,
        "nats_jetstream_storage_class_name": "gp3",
        "nats_jetstream_storage_size": "50Gi",
        "nats_jetstream_max_file_store": "45Gi",
        "nats_jetstream_anti_affinity": "preferred",
        "nats_jetstream_zone_spread_when_unsatisfiable": "DoNotSchedule",
        "nats_jetstream_node_selector": {"kubernetes.io/os": "linux"},
        "nats_jetstream_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "nats", "effect": "NoSchedule"}],
        "nats_jetstream_priority_class_name": "system-cluster-critical",
        "nats_jetstream_image_pull_secrets": ["regcred"],
        "nats_jetstream_extra_labels": {"team": "platform"},
        "nats_jetstream_pdb_max_unavailable": "20%",
    }),
    "nats_jetstream_minimal": ("nats_jetstream", {"nats_jetstream_replicas": 1, "nats_jetstream_pdb_enabled": False,
                                                  "nats_jetstream_anti_affinity": "none", "nats_jetstream_zone_spread": False}),
}


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """{case name: {"failed": bool, "manifests": [...], "conf": str}} for STANDARD_CASES."""
    results, play = render_cases(STANDARD_CASES, tmp_path_factory.mktemp("render"))
    failed = {name: r for name, r in results.items() if r["failed"]}
    assert not failed, f"rendering failed: {failed}\n{play.stderr[-2000:]}"
    return results
