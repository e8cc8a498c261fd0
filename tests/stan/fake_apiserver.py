"""A stand-in for the Kubernetes API server: the few endpoints stan_ft_status's k8s mode calls.

Named for what it is: a fake HTTP layer at the boundary, for the error answers (a bad token,
Pending or missing pods) that are awkward to produce with the real kube-apiserver of the local
control plane (which tests/e2e/test_failover_drill.py uses). It answers discovery, the
StatefulSet, the pod list, and the pod proxy
path /api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/streaming/serverz, which it forwards
to a real nats-streaming-server's monitor port on 127.0.0.1. It checks the bearer token,
so the module's kubernetes.core auth options are exercised too.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/:]+):(\d+)/proxy(/.*)$")
STS = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/statefulsets/([^/]+)$")
PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")

API_RESOURCES = {
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
             "verbs": ["get", "list", "delete"], "shortNames": ["po"]},
            {"name": "pods/proxy", "singularName": "", "namespaced": True, "kind": "PodProxyOptions",
             "verbs": ["create", "delete", "get", "patch", "update"]},
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [
            {"name": "statefulsets", "singularName": "statefulset", "namespaced": True, "kind": "StatefulSet",
             "verbs": ["get", "list"], "shortNames": ["sts"]},
        ],
    },
}
DISCOVERY = {
    "/version": {"major": "1", "minor": "34", "gitVersion": "v1.34.4"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}],
    },
    **API_RESOURCES,
}


@dataclass
class FakePod:
    name: str
    monitor_port: int | None  # the real server behind this pod (127.0.0.1 port), None = nothing listens
    labels: dict = field(default_factory=lambda: {"app": "stan"})
    phase: str = "Running"


class FakeApiServer:
    def __init__(self, namespace: str, statefulset: str, replicas: int, pods: list[FakePod], token: str,
                 container_port: int = 8222) -> None:
        self.namespace = namespace
        self.statefulset = statefulset
        self.replicas = replicas
        self.pods = pods
        self.token = token
        self.container_port = container_port
        self.requests: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def pod_json(self, pod: FakePod, index: int) -> dict:
        status = {"phase": pod.phase}
        if pod.phase == "Running":
            status["podIP"] = f"10.244.0.{10 + index}"
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod.name, "namespace": self.namespace, "labels": pod.labels},
                "status": status}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def reply(self, code: int, body, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def status(self, code: int, reason: str, message: str) -> None:
                self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": message, "reason": reason, "code": code})

            def do_GET(self):  # noqa: N802 - http.server naming
                url = urllib.parse.urlsplit(self.path)
                fake.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self.status(401, "Unauthorized", "Unauthorized")
                if url.path in DISCOVERY:
                    return self.reply(200, DISCOVERY[url.path])
                m = STS.match(url.path)
                if m:
                    if m.groups() != (fake.namespace, fake.statefulset):
                        return self.status(404, "NotFound", f'statefulsets.apps "{m.group(2)}" not found')
                    return self.reply(200, {
                        "apiVersion": "apps/v1", "kind": "StatefulSet",
                        "metadata": {"name": fake.statefulset, "namespace": fake.namespace},
                        "spec": {"replicas": fake.replicas, "selector": {"matchLabels": {"app": "stan"}}},
                    })
                m = PODS.match(url.path)
                if m:
                    query = urllib.parse.parse_qs(url.query)
                    wanted = dict(p.split("=", 1) for p in query.get("labelSelector", [""])[0].split(",") if p)
                    items = [fake.pod_json(p, i) for i, p in enumerate(fake.pods)
                             if m.group(1) == fake.namespace and all(p.labels.get(k) == v for k, v in wanted.items())]
                    return self.reply(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
                m = PROXY.match(url.path)
                if m:
                    ns, name, port, rest = m.groups()
                    pod = next((p for p in fake.pods if p.name == name), None)
                    if ns != fake.namespace or pod is None:
                        return self.status(404, "NotFound", f'pods "{name}" not found')
                    if int(port) != fake.container_port or pod.monitor_port is None:
                        return self.status(503, "ServiceUnavailable",
                                           f"error trying to reach service: dial tcp 10.244.0.1:{port}: connect: "
                                           "connection refused")
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{pod.monitor_port}{rest}", timeout=5) as resp:
                            return self.reply(resp.status, resp.read())
                    except (urllib.error.URLError, OSError) as e:
                        return self.status(503, "ServiceUnavailable", f"error trying to reach service: {e}")
                return self.status(404, "NotFound", "the server could not find the requested resource")

        return Handler
