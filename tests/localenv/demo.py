"""The main job on the embedded local default (what `make demo` runs).

1. Brings up the local environment: moto_server as AWS, a kind cluster (1 control plane + 3
   workers in three zones) with real pods, the images and the CSI node stand-in
   (tests/localenv/localenv.py).
2. Creates in moto what an eksctl-made EKS cluster leaves behind (VPC, subnets in three AZs,
   node security groups, the cluster).
3. Runs `playbooks/aws.yml` against both, with its FT check: NFS security group, EFS
   filesystem, mount targets, the static EFS volume and claim, the STAN StatefulSet (3 replicas,
   one per worker) — the role's own manifests, only the metrics sidecar switched off (its image
   cannot be built here).
4. Shows FT on the StatefulSet's own pods: each pod's node, zone, container and FT state, then
   `playbooks/failover_drill.yml` (in-cluster Jobs publish, the active pod is deleted, a standby
   takes over, every message is read back) and the pods again.
5. Prints the summary and stops everything it started (`--keep` leaves it running).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.lib.ansible_runner import ansible_env, run_playbook  # noqa: E402
from tests.lib.aws_seed import seed_eks_network  # noqa: E402
from tests.localenv import localenv  # noqa: E402

CLUSTER_NAME = "nsft-demo"
REGION = "us-east-2"
NAMESPACE = "stan"
# The one change to the role's manifests here: no image of prometheus-nats-exporter v0.16.0 can
# be built offline (the Go module proxy refuses it), so the metrics sidecar is left out.
LOCALENV_VARS = {"stan_exporter_enabled": False}


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def eks_cluster_exists(endpoint_url: str) -> bool:
    import boto3

    eks = boto3.client("eks", endpoint_url=endpoint_url, region_name=REGION)
    return CLUSTER_NAME in eks.list_clusters()["clusters"]


def run_playbook_live(playbook: str, extra: dict, env: dict) -> int:
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
           str(REPO / "playbooks" / playbook), "-e", json.dumps(extra)]
    print("$ ansible-playbook playbooks/" + playbook + " " + " ".join(f"-e {k}={v}" for k, v in extra.items()), flush=True)
    return subprocess.run(cmd, env=ansible_env(env), cwd=str(REPO), check=False).returncode


def pods_table(api) -> list[dict]:
    """The STAN pods with their node, zone, container and FT state (read through the pod proxy)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    zones = {n.metadata.name: n.metadata.labels.get("topology.kubernetes.io/zone", "-") for n in core.list_node().items}
    rows = []
    for pod in sorted(core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/instance=stan").items,
                      key=lambda p: p.metadata.name):
        status = next((c for c in pod.status.container_statuses or [] if c.name == "stan"), None)
        try:
            serverz = json.loads(core.connect_get_namespaced_pod_proxy_with_path(
                f"{pod.metadata.name}:8222", NAMESPACE, "streaming/serverz", _preload_content=False).data)
            state = serverz["state"]
        except Exception as exc:  # noqa: BLE001 - shown in the table
            state = f"unreachable ({type(exc).__name__})"
        rows.append({"pod": pod.metadata.name, "node": pod.spec.node_name, "zone": zones.get(pod.spec.node_name, "-"),
                     "container": (status.container_id or "-")[:25] if status else "-",  # runtime://12 hex
                     "restarts": status.restart_count if status else 0, "state": state})
    return rows


def show_pods(rows: list[dict]) -> None:
    for r in rows:
        print(f"  {r['pod']:7} {r['state']:12} node {r['node']:24} zone {r['zone']:11} container {r['container']}")


def deployed_summary(state: dict) -> list[str]:
    """What aws.yml left in AWS and Kubernetes, read back from both."""
    import boto3
    from kubernetes import client, config

    kwargs = {"endpoint_url": state["moto_url"], "region_name": REGION}
    efs, ec2 = boto3.client("efs", **kwargs), boto3.client("ec2", **kwargs)
    fs = next(f for f in efs.describe_file_systems()["FileSystems"] if f.get("Name") == f"{CLUSTER_NAME}-stan")
    targets = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER_NAME}-efs-nfs"]}])["SecurityGroups"][0]
    api = config.new_client_from_config(config_file=state["kubeconfig"])
    claim = client.CoreV1Api(api).read_namespaced_persistent_volume_claim("efs", NAMESPACE)
    sts = client.AppsV1Api(api).read_namespaced_stateful_set("stan", NAMESPACE)
    return [
        f"EFS filesystem      {fs['FileSystemId']} ({fs['FileSystemId']}.efs.{REGION}.amazonaws.com), {fs['LifeCycleState']}, "
        f"encrypted={fs['Encrypted']}, throughput={fs['ThroughputMode']}",
        "Mount targets       " + ", ".join(f"{t['AvailabilityZoneName']}={t['MountTargetId']}" for t in sorted(
            targets, key=lambda t: t["AvailabilityZoneName"])),
        f"NFS security group  {group['GroupId']} ({group['GroupName']}): TCP 2049 from "
        + ", ".join(p["GroupId"] for r in group["IpPermissions"] for p in r.get("UserIdGroupPairs", [])),
        f"Shared claim        {NAMESPACE}/efs {claim.status.phase}, {','.join(claim.spec.access_modes)}, volume {claim.spec.volume_name}",
        f"STAN StatefulSet    {NAMESPACE}/stan {sts.status.ready_replicas or 0}/{sts.spec.replicas} ready (real pods)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the local environment running afterwards")
    args = parser.parse_args()
    started = localenv.load_state() is None
    if started:
        localenv.up(argparse.Namespace())  # leaves this process in the environment's network namespace
    try:
        state = localenv.load_state()
        localenv.enter_netns(state["engine"].get("netns", ""))
        env = localenv.env_exports(state)
        os.environ.update(env)
        from kubernetes import config

        api = config.new_client_from_config(config_file=state["kubeconfig"])
        banner("Creating an eksctl-style EKS cluster in the AWS emulator")
        if eks_cluster_exists(state["moto_url"]):
            print(f"  cluster {CLUSTER_NAME} exists already (environment kept from an earlier run): reusing it")
        else:
            net = seed_eks_network(endpoint_url=state["moto_url"], region=REGION, cluster_name=CLUSTER_NAME)
            print(f"  cluster {CLUSTER_NAME}: {net['vpc_id']}, private subnets {', '.join(net['private_subnet_ids'])}")

        banner("Running playbooks/aws.yml (with its FT check)")
        extra = {"cluster_name": CLUSTER_NAME, "aws_region": REGION, "k8s_namespace": NAMESPACE, "verify_ft": True,
                 **LOCALENV_VARS}
        rc = run_playbook_live("aws.yml", extra, env)
        if rc != 0:
            print(f"aws.yml failed with exit code {rc}", file=sys.stderr)
            return rc

        banner("The StatefulSet's pods: one per worker and zone, one FT_ACTIVE, two FT_STANDBY")
        before = pods_table(api)
        show_pods(before)

        banner("Failover drill: publish, delete the active pod, a standby takes over, read everything back")
        drill_vars = {"stan_namespace": NAMESPACE, "stan_name": "stan", "drill_messages_before": 20,
                      "drill_messages_after": 20}
        print("$ ansible-playbook playbooks/failover_drill.yml " + " ".join(f"-e {k}={v}" for k, v in drill_vars.items()))
        t0 = time.monotonic()
        drill = run_playbook(REPO / "playbooks" / "failover_drill.yml", extra_vars=drill_vars, env=env, timeout=900)
        if drill.rc != 0:
            failed = [t for t in drill.tasks if t["result"].get("failed")]
            print(f"failover_drill.yml failed (rc {drill.rc}): {failed[-1] if failed else drill.stdout[-3000:]}",
                  file=sys.stderr)
            return drill.rc
        report = drill.task("Report the drill")["msg"]
        for line in report:
            print("  " + line)
        print(f"  (the whole drill, with its Jobs, took {time.monotonic() - t0:.0f}s)")

        banner("The pods after the drill (the deleted pod came back with a new container, as a standby)")
        after = pods_table(api)
        show_pods(after)

        banner("Summary")
        print(f"  AWS emulator        {state['moto_url']}  (EKS cluster {CLUSTER_NAME}, region {REGION})")
        print(f"  Kubernetes          kind cluster {state['cluster']} (1 control plane + 3 workers), namespace {NAMESPACE}")
        for line in deployed_summary(state):
            print("  " + line)
        for row in after:
            print(f"  Pod {row['pod']:15} {row['state']:12} on {row['node']} ({row['zone']}), {row['container']}")
        print(f"  FT                  {report[0]}")
        print(f"                      {report[2]}")
        if args.keep:
            print("  Left running: `python tests/localenv/localenv.py run -- kubectl -n stan get pods -o wide`; "
                  "stop with `make env-down`")
        return 0
    finally:
        if started and not args.keep:
            banner("Stopping the local environment")
            localenv.down(argparse.Namespace(quiet=False))


if __name__ == "__main__":
    sys.exit(main())
