"""Real processes behind a StatefulSet's kwok pods: a stand-in for the kubelet and container runtime.

kwok pods run nothing. For the failover drill and the pod-proxy tests, this harness follows one
StatefulSet's pods with a watch on the real API server and does for them what the kubelet would do
with the `stan` role's containers, using real nats-streaming-server processes of a StanCluster
(the role's stan.conf template rendered for 127.0.0.1 ports):

  * pod <sts>-<i> Running with a pod IP   -> server i runs; the pod network stand-in
                                             (tests/localenv/podnet.py) routes POD_IP:<monitor
                                             port> to server i's monitor port
  * pod deleted (or replaced: new UID)    -> server i is killed (SIGKILL for a grace period of
                                             0, SIGTERM otherwise) and its route removed; the
                                             replacement pod gets a fresh process

Named for what it is: only process lifecycle and routing are emulated; images, probes, volumes
and pod networking for clients are not (clients reach the servers on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, watch

from .stan import StanCluster


@dataclass
class Event:
    at: float  # time.monotonic()
    pod: str
    what: str  # started | killed | terminated
    detail: str = ""


class StatefulSetProcesses:
    def __init__(self, api_client, namespace: str, statefulset: str, cluster: StanCluster, routes_path: Path,
                 monitor_port: int = 8222, interval: float = 0.5) -> None:
        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.statefulset = statefulset
        self.cluster = cluster
        self.routes_path = Path(routes_path)
        self.monitor_port = monitor_port
        self.interval = interval
        self.uids: list[str | None] = [None] * len(cluster.servers)
        self.routes: dict[int, str] = {}
        self.events: list[Event] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> StatefulSetProcesses:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not all(s.config.exists() for s in self.cluster.servers):
            self.cluster.render()
        self._thread = threading.Thread(target=self._run, name="statefulset-processes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.routes.clear()
        self._write_routes()
        self.cluster.stop()

    def pod_name(self, i: int) -> str:
        return f"{self.statefulset}-{i}"

    def kills(self) -> list[Event]:
        return [e for e in self.events if e.what in ("killed", "terminated")]

    # -- the watch -------------------------------------------------------------------
    def _run(self) -> None:
        """Follow the namespace's pods with a watch (resuming from the last resourceVersion)."""
        ordinals = {self.pod_name(i): i for i in range(len(self.cluster.servers))}
        version = None
        while not self._stop.is_set():
            try:
                for event in watch.Watch().stream(self.core.list_namespaced_pod, self.namespace, resource_version=version,
                                                  timeout_seconds=2, _request_timeout=10):
                    if event["type"] == "ERROR":  # e.g. 410 Gone: start again from a fresh list
                        version = None
                        break
                    pod = event["object"]
                    version = pod.metadata.resource_version
                    if pod.metadata.name in ordinals:
                        self._sync(ordinals[pod.metadata.name], None if event["type"] == "DELETED" else pod)
                    if self._stop.is_set():
                        break
            except client.ApiException as exc:
                if exc.status == 410:
                    version = None
                    continue
                self.errors.append(f"{time.strftime('%H:%M:%S')} {exc!r}")
                self._stop.wait(self.interval)
            except Exception as exc:  # noqa: BLE001 - keep acting like a kubelet; report at the end
                self.errors.append(f"{time.strftime('%H:%M:%S')} {exc!r}")
                self._stop.wait(self.interval)

    def _sync(self, i: int, pod) -> None:
        """Make server i match pod <sts>-i (None: the pod is gone)."""
        server, name = self.cluster.servers[i], self.pod_name(i)
        uid = pod.metadata.uid if pod else None
        deleting = bool(pod and pod.metadata.deletion_timestamp)
        changed = False
        if server.running() and (uid != self.uids[i] or deleting):
            grace = pod.metadata.deletion_grace_period_seconds if deleting else 0
            self._end(i, name, graceful=bool(grace))
            changed = True
        if not server.running() and pod and not deleting and pod.status.phase == "Running" and pod.status.pod_ip:
            server.start(wait=False)
            self.uids[i] = uid
            self.routes[i] = f"{pod.status.pod_ip}:{self.monitor_port}"
            self.events.append(Event(time.monotonic(), name, "started", f"pid {server.pid}, {self.routes[i]}"))
            changed = True
        if changed:
            self._write_routes()

    def _end(self, i: int, name: str, graceful: bool) -> None:
        server = self.cluster.servers[i]
        pid = server.pid
        if graceful:
            server.stop()  # SIGTERM, SIGKILL after the grace period, as the kubelet does
            what = "terminated"
        else:
            server.kill()
            what = "killed"
        self.events.append(Event(time.monotonic(), name, what, f"pid {pid}"))
        self.uids[i] = None
        self.routes.pop(i, None)

    def _write_routes(self) -> None:
        """Write this harness's routes into the pod network stand-in's routes file (atomically)."""
        ours = {route: f"127.0.0.1:{self.cluster.servers[i].monitor_port}" for i, route in self.routes.items()}
        tmp = self.routes_path.with_name(self.routes_path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(ours, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.routes_path)
