"""Integration tests of the AWS modules against a real moto_server.

Each target under targets/<module>/ runs create -> rerun unchanged -> check-mode diff equals the
real diff -> update -> delete, plus every bad input (asserted inside the playbook). The tests
here add what a playbook cannot express: the emulator's state seen through boto3, and a real
SIGKILL of ansible-playbook right after CreateFileSystem returned.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from tests.lib import procs
from tests.lib.ansible_runner import PlayResult, ansible_env, run_playbook
from tests.lib.paths import BUILD

pytestmark = pytest.mark.moto

TARGETS = Path(__file__).parent / "targets"
# The environment says another region: the modules only find the seeded resources when the
# region set through `module_defaults: group/nats_streaming.ft.aws` is applied.
DECOY_REGION = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}


def creation_token(name: str) -> str:
    from ansible_collections.nats_streaming.ft.plugins.module_utils.aws_efs import creation_token as token

    return token(name)


def efs_client(aws):
    return boto3.client("efs", region_name="us-east-2", endpoint_url=aws.url)


def explain(result: PlayResult) -> str:
    failed = [t for t in result.tasks if t["result"].get("failed") and not t["result"].get("ignore_errors")]
    last = failed[-1] if failed else (result.tasks[-1] if result.tasks else {})
    return f"rc={result.rc}\nlast failed task: {json.dumps(last, indent=1, default=str)[:4000]}\nstderr: {result.stderr[-3000:]}"


def run_target(name: str, aws, seed: dict, playbook: str = "playbook.yml", **extra) -> PlayResult:
    result = run_playbook(
        TARGETS / name / playbook,
        extra_vars={"seed": seed, "aws_endpoint_url": aws.url, **extra},
        env=DECOY_REGION,
    )
    assert result.rc == 0 and result.failed == 0, explain(result)
    return result


def test_eks_network_info_finds_vpc_subnets_and_node_groups_in_moto(aws, eks_network):
    result = run_target("eks_network_info", aws, eks_network)
    assert result.task("Look up the network of the seeded cluster")["vpc_id"] == eks_network["vpc_id"]


def test_efs_filesystem_create_rerun_update_bad_input_delete(aws, eks_network):
    run_target("efs_filesystem", aws, eks_network)
    # The target deleted everything it created.
    assert efs_client(aws).describe_file_systems()["FileSystems"] == []


def test_efs_mount_targets_create_update_purge_and_leave_unlisted_alone(aws, eks_network):
    result = run_target("efs_mount_targets", aws, eks_network)
    # The run without purge kept the mount target it was not told about (seen through boto3 too).
    kept = result.task("Record the mount targets after the run without purge")
    assert eks_network["private_subnet_ids"][2] in kept["ansible_facts"]["mt_subnets_without_purge"]


def test_efs_nfs_security_group_manages_only_its_rules(aws, eks_network):
    result = run_target("efs_nfs_security_group", aws, eks_network)
    foreign = result.task("Read the group after the update")
    rules = foreign["security_groups"][0]["ip_permissions"]
    ssh = [p for p in rules if p.get("from_port") == 22]
    assert ssh, f"the foreign SSH rule was removed: {rules}"


def test_rerun_after_crash_right_after_create_adopts_the_file_system(aws, eks_network):
    """Simulated crash: CreateFileSystem went through but nothing after it (not even tags)."""
    efs = efs_client(aws)
    orphan = efs.create_file_system(CreationToken=creation_token("crash-safe"), Encrypted=True)["FileSystemId"]

    result = run_target("efs_filesystem", aws, eks_network, playbook="crash.yml", fs_name="crash-safe")

    task = result.task("Ensure the file system")
    assert task["changed"] and task["id"] == orphan
    systems = efs.describe_file_systems()["FileSystems"]
    assert [fs["FileSystemId"] for fs in systems] == [orphan]
    assert {t["Key"]: t["Value"] for t in systems[0]["Tags"]}["Name"] == "crash-safe"
    assert efs.describe_lifecycle_configuration(FileSystemId=orphan)["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_7_DAYS"}]


class _KillAfterCreateProxy(ThreadingHTTPServer):
    """HTTP proxy to moto that SIGKILLs the play the moment CreateFileSystem has succeeded.

    The response never reaches the module: the file system exists in AWS, the play is dead and
    never learnt its id -- the worst moment to die. "The play" is ansible-playbook and every
    process under it: ansible-core's workers call setsid, so killing the process group would
    leave the worker and its module running (and retrying) in the background.
    """

    daemon_threads = True

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlparse(upstream)
        self.victim_pid: int | None = None
        self.killed = threading.Event()
        self.killed_pids: list[int] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output quiet
        pass

    def _forward(self):
        server: _KillAfterCreateProxy = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(server.upstream.hostname, server.upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if (
            self.command == "POST"
            and self.path.split("?")[0].rstrip("/") == "/2015-02-01/file-systems"
            and response.status in (200, 201)
            and server.victim_pid
            and not server.killed.is_set()
        ):
            server.killed_pids = procs.kill_tree(server.victim_pid)
            server.killed.set()
            self.close_connection = True
            return
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


def test_sigkill_right_after_create_file_system_then_rerun_leaves_one(aws, eks_network):
    """Real crash: ansible-playbook is SIGKILLed as CreateFileSystem returns; the rerun converges."""
    proxy = _KillAfterCreateProxy(aws.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    playbook = TARGETS / "efs_filesystem" / "crash.yml"
    extra = {"seed": eks_network, "aws_endpoint_url": proxy.url, "fs_name": "killed-mid-create"}
    ansible_playbook = str(Path(sys.executable).with_name("ansible-playbook"))
    cmd = [ansible_playbook, "-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(extra)]
    log = BUILD / "logs" / "efs-crash-play.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=ansible_env(DECOY_REGION), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            proxy.victim_pid = proc.pid
            try:
                rc = proc.wait(timeout=300)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.killed.is_set(), f"the play was not killed after CreateFileSystem (rc={rc}); see {log}"
    assert rc == -signal.SIGKILL
    assert len(proxy.killed_pids) >= 3, proxy.killed_pids  # ansible-playbook, its worker, the module
    assert not [p for p in proxy.killed_pids if procs.pid_alive(p)], "a process of the killed play survived"

    efs = efs_client(aws)
    systems = efs.describe_file_systems()["FileSystems"]
    assert len(systems) == 1 and systems[0]["CreationToken"] == creation_token("killed-mid-create")
    # The lifecycle configuration comes after CreateFileSystem: the killed play never set it.
    assert efs.describe_lifecycle_configuration(FileSystemId=systems[0]["FileSystemId"])["LifecyclePolicies"] == []

    result = run_target("efs_filesystem", aws, eks_network, playbook="crash.yml", fs_name="killed-mid-create")
    task = result.task("Ensure the file system")
    assert task["changed"] and task["id"] == systems[0]["FileSystemId"]
    after = efs.describe_file_systems()["FileSystems"]
    assert [fs["FileSystemId"] for fs in after] == [systems[0]["FileSystemId"]]
    assert efs.describe_lifecycle_configuration(FileSystemId=task["id"])["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_7_DAYS"}]

    again = run_target("efs_filesystem", aws, eks_network, playbook="crash.yml", fs_name="killed-mid-create")
    assert not again.task("Ensure the file system")["changed"]


def test_noop_rerun_makes_only_describe_and_list_calls():
    """The script behind the acceptance line: a no-op rerun of all four modules only reads."""
    script = Path(__file__).resolve().parents[1] / "aws_noop_calls.py"
    proc = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report["modules"]) == {"eks_network_info", "efs_nfs_security_group", "efs_filesystem", "efs_mount_targets"}
    for module, data in report["modules"].items():
        assert data["changed"] is False, module
        assert data["calls"], f"{module}: no AWS call recorded -- the measurement is broken"
        for operation in data["calls"]:
            assert operation.split(":")[1].startswith(("Describe", "List")), (module, operation)


def test_noop_script_names_operations_like_botocore():
    """The request -> operation mapping of the script recognises writes, so it can fail."""
    from tests.aws_noop_calls import OperationNamer

    namer = OperationNamer()

    def auth(service):
        return {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-2/{service}/aws4_request, SignedHeaders=host"}

    def efs(method, path):
        return namer.name({"method": method, "url": "http://h" + path, "headers": auth("elasticfilesystem")})

    assert efs("POST", "/2015-02-01/file-systems") == "efs:CreateFileSystem"
    assert efs("GET", "/2015-02-01/file-systems?CreationToken=x") == "efs:DescribeFileSystems"
    assert efs("GET", "/2015-02-01/mount-targets/fsmt-1/security-groups") == "efs:DescribeMountTargetSecurityGroups"
    assert efs("PUT", "/2015-02-01/mount-targets/fsmt-1/security-groups") == "efs:ModifyMountTargetSecurityGroups"
    assert efs("POST", "/2015-02-01/resource-tags/fs-1") == "efs:TagResource"
    assert namer.name({"method": "GET", "url": "http://h/clusters/stan", "headers": auth("eks")}) == "eks:DescribeCluster"
    body = "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-1"
    assert namer.name({"method": "POST", "url": "http://h/", "headers": auth("ec2"), "body": body}) == "ec2:AuthorizeSecurityGroupIngress"
