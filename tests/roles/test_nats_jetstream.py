"""What the nats_jetstream role renders: one volume per replica with JetStream (RAFT keeps a copy
per server), none without; routes by per-pod DNS; probes on the JetStream health endpoint;
non-root; a config checksum that follows nats.conf."""

from __future__ import annotations

import hashlib

from .realserver import SERVER_NAME, parsed_nats_options


def objects(rendered, case):
    return {(o["kind"], o["metadata"]["name"]): o for o in rendered[case]["manifests"]}


def conf_text(objs, name="nats"):
    return objs[("ConfigMap", f"{name}-config")]["data"]["nats.conf"]


def test_jetstream_gives_every_replica_its_own_volume(rendered):
    objs = objects(rendered, "nats_jetstream_default")
    sts = objs[("StatefulSet", "nats")]
    [template] = sts["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "jetstream"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert template["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in template["spec"]
    mounts = {m["name"]: m["mountPath"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["jetstream"] == "/data"
    # No shared claim: nothing but the config and the pid directory is a pod volume.
    assert [v["name"] for v in sts["spec"]["template"]["spec"]["volumes"]] == ["config-volume", "pid"]
    conf = parsed_nats_options(conf_text(objs))
    assert conf["jetstream"] == {"enabled": True, "store_dir": "/data", "max_file_store": 8 * 1024**3,
                                 "max_memory_store": conf["jetstream"]["max_memory_store"]}


def test_routes_name_every_pod_through_the_headless_service(rendered):
    objs = objects(rendered, "nats_jetstream_everything")
    conf = parsed_nats_options(conf_text(objs, "js"))
    assert conf["cluster"]["routes"] == [f"nats://js-{i}.js-headless:6222" for i in range(5)]
    assert conf["server_name"] == SERVER_NAME, "server_name comes from $SERVER_NAME, the pod's name"
    sts = objs[("StatefulSet", "js")]
    assert sts["spec"]["serviceName"] == "js-headless"
    env = sts["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "SERVER_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    headless = objs[("Service", "js-headless")]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert objs[("Service", "js")]["spec"].get("clusterIP") is None  # the client Service balances
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "gp3"


def test_plain_nats_has_no_jetstream_and_no_volumes(rendered):
    objs = objects(rendered, "nats_plain")
    sts = objs[("StatefulSet", "nats")]
    assert "volumeClaimTemplates" not in sts["spec"]
    conf = parsed_nats_options(conf_text(objs))
    assert conf["jetstream"]["enabled"] is False
    probe = sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe == {"path": "/healthz", "port": "monitor"}
    # STAN's external-NATS URL for this cluster: the client Service in the namespace.
    assert objs[("Service", "nats")]["metadata"]["namespace"] == "stan"
    assert [p["port"] for p in objs[("Service", "nats")]["spec"]["ports"]] == [4222, 8222]


def test_probes_ask_the_jetstream_health_endpoint(rendered):
    container = objects(rendered, "nats_jetstream_default")[("StatefulSet", "nats")]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz?js-enabled-only=true", probe
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["nats-server", "--signal", "ldm=/var/run/nats/nats.pid"]


def test_the_server_never_runs_as_root_and_spreads_over_nodes_and_zones(rendered):
    spec = objects(rendered, "nats_jetstream_default")[("StatefulSet", "nats")]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 1000
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    pdb = objects(rendered, "nats_jetstream_default")[("PodDisruptionBudget", "nats")]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_checksum_is_the_sha256_of_nats_conf(rendered):
    for case, name in (("nats_jetstream_default", "nats"), ("nats_plain", "nats"), ("nats_jetstream_everything", "js")):
        objs = objects(rendered, case)
        annotations = objs[("StatefulSet", name)]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/config"] == hashlib.sha256(conf_text(objs, name).strip().encode()).hexdigest()
    assert objects(rendered, "nats_plain")[("StatefulSet", "nats")]["spec"]["template"]["metadata"]["annotations"] != \
        objects(rendered, "nats_jetstream_default")[("StatefulSet", "nats")]["spec"]["template"]["metadata"]["annotations"]


def test_minimal_case_drops_the_optional_objects(rendered):
    objs = objects(rendered, "nats_jetstream_minimal")
    assert sorted(kind for kind, _name in objs) == ["ConfigMap", "Service", "Service", "StatefulSet"]
    spec = objs[("StatefulSet", "nats")]["spec"]["template"]["spec"]
    assert "affinity" not in spec and "topologySpreadConstraints" not in spec
