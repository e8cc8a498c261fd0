"""Small helpers for the local Kubernetes control plane: its audit log."""

from __future__ import annotations

import collections
import datetime
import json
import time
from pathlib import Path

ANSIBLE_AGENT = "OpenAPI-Generator/"  # user agent of the kubernetes Python client (kubernetes.core and our modules)
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


class AuditLog:
    """The kube-apiserver audit log: requests of one client within a time window."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def events(self, start: datetime.datetime, end: datetime.datetime, agent: str) -> list[dict]:
        time.sleep(1.0)  # the apiserver writes an event when the response completes; let it land
        found = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                stamp = datetime.datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))
                if start <= stamp <= end and event.get("userAgent", "").startswith(agent):
                    found.append(event)
        return found


def count_kube(events: list[dict]) -> tuple[dict, list[dict]]:
    """Requests by verb (dry-run requests counted apart), and the real write requests."""
    verbs: collections.Counter = collections.Counter()
    writes = []
    for event in events:
        dry_run = "dryRun=" in event.get("requestURI", "")
        verbs[event["verb"] + (" (dry-run)" if dry_run else "")] += 1
        if event["verb"] in WRITE_VERBS and not dry_run:
            writes.append({"verb": event["verb"], "uri": event.get("requestURI", ""), "path": object_path(event)})
    return dict(verbs), writes


def object_path(event: dict) -> str | None:
    """API path of the object a write request was about (None for subresources and collections)."""
    ref = event.get("objectRef", {})
    if not ref.get("name") or ref.get("subresource"):
        return None
    path = event.get("requestURI", "").split("?", 1)[0]
    return f"{path}/{ref['name']}" if event["verb"] == "create" else path
