"""The main job on the embedded local default (what `make demo` runs).

1. Brings up the local environment: moto_server as AWS, a real kube-apiserver with kwok nodes.
2. Creates in moto what an eksctl-made EKS cluster leaves behind (VPC, subnets in three AZs,
   node security groups, the cluster), and registers the EFS CSI driver object in Kubernetes.
3. Runs `playbooks/aws.yml` against both: NFS security group, EFS filesystem, mount targets,
   the static EFS volume and claim, the STAN StatefulSet.
4. kwok pods do not run containers, so the FT behaviour is shown with three real
   nats-streaming-server processes configured from the same role template and settings:
   one active and two standby, a publish/subscribe round trip, a SIGKILL of the active and
   the takeover, and every message still there.
5. Prints the summary and stops everything it started (`--keep` leaves it running).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.lib.ansible_runner import ansible_env  # noqa: E402
from tests.lib.aws_seed import seed_eks_network  # noqa: E402
from tests.lib.kube import ensure_csi_driver  # noqa: E402
from tests.lib.paths import BIN_DIR  # noqa: E402
from tests.lib.stan import StanCluster  # noqa: E402
from tests.localenv import localenv  # noqa: E402

CLUSTER_NAME = "nsft-demo"
REGION = "us-east-2"
NAMESPACE = "stan"


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


def ft_status(urls: list[str], env: dict) -> dict:
    """Run nats_streaming.ft.stan_ft_status against monitor URLs; return its result."""
    cmd = [str(Path(sys.executable).with_name("ansible")), "localhost", "-c", "local", "-i", "localhost,",
           "-m", "nats_streaming.ft.stan_ft_status", "-a", json.dumps({"monitor_urls": urls, "wait": True, "wait_timeout": 30})]
    out = subprocess.run(cmd, env=ansible_env({**env, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}),
                         capture_output=True, text=True, check=False)
    data = json.loads(out.stdout)
    return data["plays"][0]["tasks"][0]["hosts"]["localhost"]


def show_status(result: dict, names: dict[str, str]) -> None:
    for server in result.get("servers", []):
        print(f"  {names.get(server['name'], server['name']):8} {server['state']:12} server_id={server.get('server_id') or '-'}"
              f" clients={server.get('clients', '-')} channels={server.get('channels', '-')} msgs={server.get('total_msgs', '-')}")


def stan_tool(tool: str, *args: str, timeout: float = 30) -> str:
    out = subprocess.run([str(BIN_DIR / tool), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0 and tool == "stan-pub":
        raise RuntimeError(f"{tool} failed: {out.stdout}{out.stderr}")
    return out.stdout + out.stderr


def subscribe_all(urls: str, cluster_id: str, channel: str, expect: int) -> list[str]:
    """Read a channel from the start with stan-sub until `expect` messages arrived (bounded)."""
    proc = subprocess.Popen([str(BIN_DIR / "stan-sub"), "-s", urls, "-c", cluster_id, "-id", f"demo-sub-{time.time_ns()}",
                             "-all", channel], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    got: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and len(got) < expect:
            line = proc.stdout.readline()
            if not line:
                break
            if "Received:" in line:
                got.append(line.strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return got


def show_ft(cluster_id: str, env: dict) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="nsft-demo-stan-"))
    cluster = StanCluster(workdir, size=3, cluster_id=cluster_id, ft_group=cluster_id)
    names = {}
    result: dict = {}
    try:
        banner("Starting three real nats-streaming-server processes (one shared store, one FT group)")
        cluster.start()
        names = {s.monitor_url.split("//")[1]: s.name for s in cluster.servers}
        for s in cluster.servers:
            print(f"  {s.name}: pid {s.pid}, client {s.nats_url}, monitor {s.monitor_url}, config {s.config.name}")
        status = ft_status(cluster.monitor_urls(), env)
        print(f"stan_ft_status: {status.get('msg', '')}")
        show_status(status, names)
        active = cluster.active()

        banner("Publish three messages and read them back")
        urls = cluster.nats_urls()
        for i in range(1, 4):
            stan_tool("stan-pub", "-s", urls, "-c", cluster_id, "-id", f"demo-pub-{i}", "orders", f"order-{i}")
        for line in subscribe_all(urls, cluster_id, "orders", 3):
            print("  " + line)

        banner(f"SIGKILL the active server ({active.name}, pid {active.pid}) and wait for a standby to take over")
        t0 = time.monotonic()
        active.kill()
        cluster.wait_for(lambda st: "FT_ACTIVE" in st.values(), timeout=30, interval=0.05, what="a new FT_ACTIVE")
        failover = time.monotonic() - t0
        new_active = cluster.active()
        print(f"  {new_active.name} is FT_ACTIVE {failover:.2f}s after the kill")
        status = ft_status([s.monitor_url for s in cluster.servers if s.running()], env)
        print(f"stan_ft_status: {status.get('msg', '')}")
        show_status(status, names)

        banner("Publish two more and read the channel from the start")
        urls = cluster.nats_urls()
        for i in range(4, 6):
            stan_tool("stan-pub", "-s", urls, "-c", cluster_id, "-id", f"demo-pub-{i}", "orders", f"order-{i}")
        got = subscribe_all(urls, cluster_id, "orders", 5)
        for line in got:
            print("  " + line)
        result = {"first_active": active.name, "killed_pid": active.pid, "new_active": new_active.name,
                  "failover_seconds": round(failover, 2), "messages_read": len(got), "messages_published": 5}
        if len(got) != 5:
            raise RuntimeError(f"expected to read 5 messages after the failover, read {len(got)}")
        return result
    finally:
        cluster.stop()


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
        f"STAN StatefulSet    {NAMESPACE}/stan {sts.status.ready_replicas or 0}/{sts.spec.replicas} ready (kwok pods)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the local environment running afterwards")
    args = parser.parse_args()
    started = localenv.load_state() is None
    if started:
        localenv.up(argparse.Namespace())
    try:
        state = localenv.load_state()
        env = localenv.env_exports(state)
        os.environ.update(env)
        banner("Creating an eksctl-style EKS cluster in the AWS emulator")
        if eks_cluster_exists(state["moto_url"]):
            print(f"  cluster {CLUSTER_NAME} exists already (environment kept from an earlier run): reusing it")
        else:
            net = seed_eks_network(endpoint_url=state["moto_url"], region=REGION, cluster_name=CLUSTER_NAME)
            print(f"  cluster {CLUSTER_NAME}: {net['vpc_id']}, private subnets {', '.join(net['private_subnet_ids'])}")
        from kubernetes import config

        ensure_csi_driver(config.new_client_from_config(config_file=state["kubeconfig"]), "efs.csi.aws.com")
        print("  CSIDriver efs.csi.aws.com registered (API object only: kwok nodes mount nothing)")

        banner("Running playbooks/aws.yml")
        extra = {"cluster_name": CLUSTER_NAME, "aws_region": REGION, "k8s_namespace": NAMESPACE, "verify_ft": False}
        rc = run_playbook_live("aws.yml", extra, env)
        if rc != 0:
            print(f"aws.yml failed with exit code {rc}", file=sys.stderr)
            return rc

        ft = show_ft("test-cluster", env)

        banner("Summary")
        print(f"  AWS emulator        {state['moto_url']}  (EKS cluster {CLUSTER_NAME}, region {REGION})")
        print(f"  Kubernetes          KUBECONFIG={state['kubeconfig']}  (namespace {NAMESPACE})")
        for line in deployed_summary(state):
            print("  " + line)
        print(f"  FT                  {ft['first_active']} was active; after SIGKILL {ft['new_active']} took over in "
              f"{ft['failover_seconds']}s; {ft['messages_read']}/{ft['messages_published']} messages read back")
        if args.keep:
            print(f"  Left running: source {localenv.STATE_DIR / 'env.sh'}; stop with `make env-down`")
        return 0
    finally:
        if started and not args.keep:
            banner("Stopping the local environment")
            localenv.down(argparse.Namespace(quiet=False))


if __name__ == "__main__":
    sys.exit(main())
