"""What the end-to-end FT tests read from, and do to, the STAN StatefulSet's real pods.

- `serverz()`: a pod's /streaming/serverz through the API server's pod proxy (pod IPs are not
  routed into the environment's network namespace; the API server reaches them).
- `Poller`: every pod's serverz at a fixed interval, one thread per pod (a hung server must not
  delay the others' samples), each sample stamped with the wall clock when its answer arrived.
- `pod_facts()`: each pod's UID, node, container ID and restart count, as the cluster sees them.
- `ClientPod`: the tests' STAN client (tests/stan/stanclient, image from tests/localenv/images.py)
  in a pod on the control-plane node, so that no fault on a worker reaches the clients.
- `node_exec()`: a shell script run in a kind node (`docker exec`), e.g. to signal a container's
  process from its node: a real kubelet never SIGKILLs on a pod delete, and a signal sent from
  inside the container to its PID 1 is ignored.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from kubernetes import client

STAN_LABELS = "app.kubernetes.io/instance=stan"
CLIENT_LABEL = "nsft-e2e-client"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
MONITOR_PORT = 8222  # the role's stan_monitor_port default, which the tests deploy with


def proxy_get(api, namespace: str, pod: str, port: int, path: str, query: dict | None = None,
              timeout: float = 2) -> dict:
    """GET http://<pod>:<port>/<path>?<query> through the API server; the JSON answer (parsed here:
    the generated client's own deserialisation would turn a JSON body into a Python repr)."""
    resource = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}:{port}/proxy/{path}"
    resp = api.call_api(resource, "GET", query_params=list((query or {}).items()), auth_settings=["BearerToken"],
                        _preload_content=False, _return_http_data_only=True, _request_timeout=timeout)
    return json.loads(resp.data)


def serverz(api, namespace: str, pod: str, timeout: float = 2) -> dict:
    return proxy_get(api, namespace, pod, MONITOR_PORT, "streaming/serverz", timeout=timeout)


def channelz(api, namespace: str, pod: str, channel: str) -> dict:
    """The active server's figures for one channel: msgs, first_seq, last_seq ..."""
    return proxy_get(api, namespace, pod, MONITOR_PORT, "streaming/channelsz", {"channel": channel})


def ft_states(api, namespace: str, pods: list[str], timeout: float = 2) -> dict[str, str]:
    """{pod: FT state}, or UNREACHABLE (...) for a pod that does not answer."""
    states = {}
    for pod in pods:
        try:
            states[pod] = serverz(api, namespace, pod, timeout)["state"]
        except Exception as exc:  # noqa: BLE001 - any failure to answer is the state we report
            states[pod] = f"UNREACHABLE ({type(exc).__name__})"
    return states


def wait_ft_healthy(api, namespace: str, pods: list[str], timeout: float = 180) -> tuple[str, dict[str, str]]:
    """Wait until exactly one pod answers FT_ACTIVE and every other FT_STANDBY; (active, states)."""
    deadline = time.monotonic() + timeout
    while True:
        states = ft_states(api, namespace, pods)
        active = [p for p, s in states.items() if s == "FT_ACTIVE"]
        if len(active) == 1 and all(s == "FT_STANDBY" for p, s in states.items() if p != active[0]):
            return active[0], states
        if time.monotonic() > deadline:
            raise TimeoutError(f"the FT group is not whole after {timeout:.0f}s: {states}")
        time.sleep(0.5)


@dataclass
class Sample:
    t: float  # wall clock (time.time()) when the answer (or the failure) arrived
    pod: str
    state: str
    server_id: str = ""


@dataclass
class Poller:
    """Polls every pod's serverz every `interval` seconds until stopped."""

    api: object
    namespace: str
    pods: list[str]
    interval: float = 0.1
    timeout: float = 1.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(pod,), daemon=True) for pod in self.pods]

    def _run(self, pod: str) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                z = serverz(self.api, self.namespace, pod, self.timeout)
                sample = Sample(time.time(), pod, z["state"], z.get("server_id", ""))
            except Exception as exc:  # noqa: BLE001 - recorded as the sample
                sample = Sample(time.time(), pod, f"UNREACHABLE ({type(exc).__name__})")
            with self._lock:
                self.samples.append(sample)
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic())

    def __enter__(self) -> Poller:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def first_active(self, other_than: str, after: float) -> Sample | None:
        with self._lock:
            found = [s for s in self.samples if s.t >= after and s.pod != other_than and s.state == "FT_ACTIVE"]
        return min(found, key=lambda s: s.t) if found else None

    def wait_active(self, other_than: str, after: float, timeout: float) -> Sample:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first_active(other_than, after)
            if found:
                return found
            time.sleep(self.interval / 2)
        with self._lock:
            last = {s.pod: s.state for s in self.samples}
        raise TimeoutError(f"no pod other than {other_than} reported FT_ACTIVE within {timeout:.0f}s (last: {last})")


def pod_facts(api, namespace: str) -> dict[str, dict]:
    """{pod: uid, node, container_id, restarts, ready} for the StatefulSet's pods."""
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=STAN_LABELS).items
    facts = {}
    for p in pods:
        stan = next((c for c in p.status.container_statuses or [] if c.name == "stan"), None)
        facts[p.metadata.name] = {
            "uid": p.metadata.uid, "node": p.spec.node_name, "phase": p.status.phase,
            "deleting": p.metadata.deletion_timestamp is not None,
            "container_id": stan.container_id if stan else None,
            "restarts": stan.restart_count if stan else None, "ready": bool(stan and stan.ready),
            "last_terminated": (stan.last_state.terminated.to_dict()
                                if stan and stan.last_state and stan.last_state.terminated else None),
        }
    return facts


def node_zones(api) -> dict[str, str]:
    return {n.metadata.name: (n.metadata.labels or {}).get("topology.kubernetes.io/zone", "")
            for n in client.CoreV1Api(api).list_node().items}


def node_exec(engine, node: str, script: str, timeout: float = 60) -> str:
    """Run a shell script inside a kind node container; its stdout."""
    res = subprocess.run(engine.docker("exec", "-i", node, "sh"), input=script, capture_output=True, text=True,
                         timeout=timeout, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"script in node {node} failed ({res.returncode}): {res.stderr[-2000:]}\n{script}")
    return res.stdout


def signal_container(engine, node: str, namespace: str, pod: str, signal: str, container: str = "stan") -> dict:
    """Send `signal` to the container's main process from its node; the wall clock just before the
    signal (read in the node: same kernel clock), the PID and container ID."""
    script = f"""set -e
id=$(crictl ps -q --name '^{container}$' --label io.kubernetes.pod.name={pod} --label io.kubernetes.pod.namespace={namespace})
[ -n "$id" ] && [ "$(echo "$id" | wc -l)" -eq 1 ] || {{ echo "running containers of {pod}: '$id'" >&2; exit 1; }}
pid=$(crictl inspect -o go-template --template '{{{{.info.pid}}}}' "$id")
echo "$id $pid $(date +%s.%N)"
kill -{signal} "$pid"
"""
    cid, pid, t = node_exec(engine, node, script).split()
    return {"container_id": cid, "pid": int(pid), "t": float(t)}


@dataclass
class ClientPod:
    """One run of the tests' STAN client in a pod on the control-plane node."""

    api: object
    namespace: str
    name: str
    image: str
    args: list[str]
    port: int | None = None

    def manifest(self) -> dict:
        container = {"name": "client", "image": self.image, "imagePullPolicy": "IfNotPresent", "args": self.args,
                     "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                         "capabilities": {"drop": ["ALL"]}}}
        if self.port:
            container["ports"] = [{"containerPort": self.port, "name": "control"}]
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": self.name, "labels": {"app.kubernetes.io/name": CLIENT_LABEL}},
            "spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 5, "automountServiceAccountToken": False,
                "nodeSelector": {CONTROL_PLANE: ""},
                "tolerations": [{"key": CONTROL_PLANE, "operator": "Exists", "effect": "NoSchedule"}],
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [container],
            },
        }

    def create(self) -> ClientPod:
        client.CoreV1Api(self.api).create_namespaced_pod(self.namespace, self.manifest())
        return self

    def phase(self) -> str:
        return client.CoreV1Api(self.api).read_namespaced_pod(self.name, self.namespace).status.phase

    def wait_phase(self, phases: tuple[str, ...], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            phase = self.phase()
            if phase in phases:
                return phase
            if time.monotonic() > deadline:
                raise TimeoutError(f"pod {self.name} is {phase}, not {phases}, after {timeout:.0f}s")
            time.sleep(0.3)

    def get(self, path: str, timeout: float = 5) -> dict:
        return proxy_get(self.api, self.namespace, self.name, self.port, path, timeout=timeout)

    def wait_get(self, path: str, until, timeout: float) -> dict:
        """GET path until `until(answer)` is true (the pod's server may not listen yet)."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                last = self.get(path)
                if until(last):
                    return last
            except Exception as exc:  # noqa: BLE001 - not listening yet
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} {path}: {last} after {timeout:.0f}s")

    def log_lines(self) -> list[dict]:
        resp = client.CoreV1Api(self.api).read_namespaced_pod_log(self.name, self.namespace, container="client",
                                                                  _preload_content=False)
        return [json.loads(line) for line in resp.data.decode().splitlines() if line.strip()]

    def delete(self) -> None:
        try:
            client.CoreV1Api(self.api).delete_namespaced_pod(self.name, self.namespace, grace_period_seconds=0)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
