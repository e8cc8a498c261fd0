#!/usr/bin/env python
"""Print the AWS API calls that a no-op rerun of the four AWS modules makes, by operation.

How it measures (server side, nothing in the modules is instrumented):
1. start a private moto_server on 127.0.0.1 with moto's request recorder pointed at a temp file;
2. seed an eksctl-style EKS network (tests/lib/aws_seed.py) and converge once with a playbook
   that runs eks_network_info -> efs_nfs_security_group -> efs_filesystem -> efs_mount_targets;
3. for each module, reset the recording, run that module's task again (same arguments, a
   one-task playbook) and download the recording: every HTTP request moto received;
4. name each request's operation from botocore's own service models: the signing service in
   the SigV4 Authorization header picks the service, ``Action=`` picks the operation of query
   APIs (EC2), method + URI template picks it for REST APIs (EFS, EKS).

Exit status 0 when every rerun reports changed=false and made only Describe*/List* calls.
Run: ``.venv/bin/python tests/aws_noop_calls.py`` (``--json`` for machine-readable output).
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import botocore.session  # noqa: E402

from tests.lib import procs  # noqa: E402
from tests.lib.ansible_runner import run_playbook  # noqa: E402
from tests.lib.aws_seed import seed_eks_network  # noqa: E402
from tests.lib.moto import CREDENTIALS, MotoServer, moto_server_command  # noqa: E402

REGION = "us-east-2"
SERVICES = ("ec2", "efs", "eks", "kms", "sts")
MODULE_ORDER = ("eks_network_info", "efs_nfs_security_group", "efs_filesystem", "efs_mount_targets")

CONVERGE = """
- name: Converge the AWS side of a STAN cluster
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/nats_streaming.ft.aws:
      region: "{{ region }}"
      endpoint_url: "{{ endpoint }}"
  tasks:
    - name: eks_network_info
      nats_streaming.ft.eks_network_info:
        cluster_name: stan
      register: eks
    - name: efs_nfs_security_group
      nats_streaming.ft.efs_nfs_security_group:
        name: stan-efs-nfs
        vpc_id: "{{ eks.vpc_id }}"
        source_security_groups: "{{ eks.nfs_client_security_group_ids }}"
        cidrs: "{{ eks.vpc_cidr_blocks }}"
        tags: {app: stan}
      register: nfs
    - name: efs_filesystem
      nats_streaming.ft.efs_filesystem:
        name: stan-ft
        throughput_mode: elastic
        lifecycle: {transition_to_ia: AFTER_30_DAYS, transition_to_primary_storage_class: AFTER_1_ACCESS}
        tags: {app: stan}
      register: efs
    - name: efs_mount_targets
      nats_streaming.ft.efs_mount_targets:
        file_system_id: "{{ efs.id }}"
        subnets: "{{ eks.private_subnet_ids }}"
        security_groups: ["{{ nfs.group_id }}"]
      register: mounts
    - name: Arguments of each task, for the one-task reruns
      ansible.builtin.set_fact:
        rerun_args:
          eks_network_info: {cluster_name: stan}
          efs_nfs_security_group:
            name: stan-efs-nfs
            vpc_id: "{{ eks.vpc_id }}"
            source_security_groups: "{{ eks.nfs_client_security_group_ids }}"
            cidrs: "{{ eks.vpc_cidr_blocks }}"
            tags: {app: stan}
          efs_filesystem:
            name: stan-ft
            throughput_mode: elastic
            lifecycle: {transition_to_ia: AFTER_30_DAYS, transition_to_primary_storage_class: AFTER_1_ACCESS}
            tags: {app: stan}
          efs_mount_targets:
            file_system_id: "{{ efs.id }}"
            subnets: "{{ eks.private_subnet_ids }}"
            security_groups: ["{{ nfs.group_id }}"]
"""

RERUN = """
- name: Rerun one module
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/nats_streaming.ft.aws:
      region: "{{ region }}"
      endpoint_url: "{{ endpoint }}"
  tasks:
    - name: rerun
      nats_streaming.ft.%s: "{{ module_args }}"
"""


class OperationNamer:
    """Map a recorded HTTP request to 'service:Operation' with botocore's service models."""

    def __init__(self, services=SERVICES):
        session = botocore.session.get_session()
        self.by_signing_name = {}
        for service in services:
            model = session.get_service_model(service)
            routes = []
            for name in model.operation_names:
                http = model.operation_model(name).http
                template = http.get("requestUri", "/").split("?")[0]
                pattern, literal = "^", 0
                for part in re.split(r"(\{[^}]+\})", template):
                    if part.startswith("{"):
                        pattern += ".+" if part.endswith("+}") else "[^/]+"
                    else:
                        pattern += re.escape(part)
                        literal += len(part)
                pattern += "/?$"
                routes.append((http.get("method", "POST"), re.compile(pattern), literal, name))
            self.by_signing_name[model.signing_name] = (service, model.metadata["protocol"], routes)

    def name(self, entry: dict) -> str:
        headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
        match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("authorization", ""))
        if not match or match.group(1) not in self.by_signing_name:
            return f"unknown:{entry.get('method')} {entry.get('url')}"
        service, protocol, routes = self.by_signing_name[match.group(1)]
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        if protocol in ("query", "ec2"):
            action = urllib.parse.parse_qs(body).get("Action", ["?"])[0]
            return f"{service}:{action}"
        if "x-amz-target" in headers:
            return f"{service}:{headers['x-amz-target'].split('.')[-1]}"
        path = urllib.parse.urlparse(entry.get("url", "")).path
        candidates = [(lit, name) for method, regex, lit, name in routes if method == entry.get("method") and regex.match(path)]
        if not candidates:
            return f"{service}:? {entry.get('method')} {path}"
        return f"{service}:{max(candidates)[1]}"


def moto_api(server: MotoServer, action: str) -> str:
    method = "GET" if action == "download-recording" else "POST"
    request = urllib.request.Request(f"{server.url}/moto-api/recorder/{action}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode("utf-8")


def measure(workdir: Path) -> dict:
    recording = workdir / "moto_recording.jsonl"
    port = procs.free_port()
    env = {**os.environ, **CREDENTIALS, "MOTO_RECORDER_FILEPATH": str(recording)}
    proc = procs.start([moto_server_command(), "-H", "127.0.0.1", "-p", str(port)], workdir / "moto.log", env=env, cwd=str(workdir))
    server = MotoServer(port=port, proc=proc)
    try:
        procs.wait_for_port(port, timeout=60, proc=proc)
        seed_eks_network(endpoint_url=server.url, region=REGION, cluster_name="stan")
        play_env = {**server.env(), "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
        variables = {"region": REGION, "endpoint": server.url}

        converge = workdir / "converge.yml"
        converge.write_text(CONVERGE)
        first = run_playbook(converge, extra_vars=variables, env=play_env)
        if first.rc != 0:
            raise SystemExit(f"converge failed (rc={first.rc}):\n{first.stdout[-4000:]}\n{first.stderr[-4000:]}")
        rerun_args = first.task("Arguments of each task, for the one-task reruns")["ansible_facts"]["rerun_args"]

        namer = OperationNamer()
        report = {}
        for module in MODULE_ORDER:
            playbook = workdir / f"rerun_{module}.yml"
            playbook.write_text(RERUN % module)
            moto_api(server, "reset-recording")
            moto_api(server, "start-recording")
            result = run_playbook(playbook, extra_vars={**variables, "module_args": rerun_args[module]}, env=play_env)
            moto_api(server, "stop-recording")
            lines = [json.loads(line) for line in moto_api(server, "download-recording").splitlines() if line.strip()]
            if result.rc != 0:
                raise SystemExit(f"rerun of {module} failed (rc={result.rc}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
            calls = collections.Counter(namer.name(entry) for entry in lines)
            report[module] = {"changed": bool(result.task("rerun").get("changed")), "calls": dict(sorted(calls.items()))}
        return report
    finally:
        server.stop()


def read_only(operation: str) -> bool:
    return operation.split(":", 1)[-1].startswith(("Describe", "List"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nsft-noop-") as tmp:
        report = measure(Path(tmp))
    ok = all(not data["changed"] and all(read_only(op) for op in data["calls"]) for data in report.values())
    total = sum(sum(data["calls"].values()) for data in report.values())
    if args.json:
        print(json.dumps({"ok": ok, "total_calls": total, "modules": report}, indent=2))
    else:
        print("AWS API calls of a no-op rerun (counted by moto's request recorder):")
        for module, data in report.items():
            count = sum(data["calls"].values())
            print(f"\n{module}: changed={data['changed']}, {count} call(s)")
            for operation, n in data["calls"].items():
                flag = "" if read_only(operation) else "   <-- not a read"
                print(f"  {n:3d}  {operation}{flag}")
        print(f"\ntotal: {total} call(s); only Describe*/List*: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
