"""Start and drive the ARM stand-in (tests/arm_standin) on 127.0.0.1 for a test session."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .paths import BUILD, REPO

DEFAULT_RESOURCE_GROUPS = ({"name": "rg-standin", "location": "eastus"},)


@dataclass
class ArmStandin:
    """A running stand-in. ``env()`` is what a module needs to use it like a real cloud."""

    port: int
    ca_path: Path
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    subscription_id: str
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Service-principal environment, exactly as a real user sets it, plus the custom cloud and its CA."""
        return {
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_SECRET": self.client_secret,
            "AZURE_TENANT": self.tenant_id,
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "AZURE_CLOUD_ENVIRONMENT": self.url,
            "AZURE_CA_BUNDLE": str(self.ca_path),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    # ------------------------------------------------------------------ test-only admin API
    def admin(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_standin/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=str(self.ca_path))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def reset(self) -> None:
        self.admin("POST", "reset")

    def add_resource_group(self, name: str, location: str = "eastus") -> dict:
        return self.admin("POST", "resource-groups", {"name": name, "location": location})

    def add_virtual_network(self, resource_group: str, name: str, subnets: list[dict]) -> dict:
        """subnets: [{"name": ..., "address_prefix": ..., "service_endpoints": [...]}]; returns their IDs."""
        return self.admin("POST", "virtual-networks", {"resource_group": resource_group, "name": name, "subnets": subnets})

    def set_share_usage(self, resource_group: str, account: str, share: str, usage_bytes: int) -> None:
        self.admin("POST", "share-usage",
                   {"resource_group": resource_group, "account": account, "share": share, "bytes": usage_bytes})

    def set_share_files(self, resource_group: str, account: str, share: str, files: list[str]) -> None:
        """Files the data plane lists in the root of a share (the usage figure stays what it was)."""
        self.admin("POST", "share-files", {"resource_group": resource_group, "account": account, "share": share,
                                           "files": files})

    def take_name(self, name: str) -> None:
        self.admin("POST", "taken-names", {"name": name})

    def requests(self) -> list[dict]:
        return self.admin("GET", "requests")

    def clear_requests(self) -> None:
        self.admin("POST", "requests/clear")

    def issued_keys(self) -> list[str]:
        return self.admin("GET", "issued-keys")

    def writes(self) -> list[dict]:
        """Requests of the log that change something in ARM (everything but GETs and read-only POSTs)."""
        read_posts = ("/checknameavailability", "/listkeys")
        return [
            r for r in self.requests()
            if r["method"] in ("PUT", "PATCH", "DELETE")
            or (r["method"] == "POST" and not r["path"].lower().endswith(read_posts) and "/oauth2/" not in r["path"])
        ]

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc.pid)
            self.proc = None


def start_standin(
    log_path: Path,
    resource_groups: tuple[dict, ...] | list[dict] = DEFAULT_RESOURCE_GROUPS,
    virtual_networks: list[dict] | None = None,
    lro_polls: int = 2,
    retry_after: int = 1,
    port: int | None = None,
    api_versions: dict[str, list[str]] | None = None,
) -> ArmStandin:
    """Generate a CA and certificate, start the stand-in on a free 127.0.0.1 port, wait for it.

    Long-running operations answer ``lro_polls`` times "still running" with ``Retry-After:
    retry_after`` seconds before they complete.  azure-core reads a Retry-After of 0 as absent
    and then waits its default 30 s, so keep it at 1 or more.  ``api_versions`` maps a resource provider
    to the api-versions it serves (default: Microsoft.Storage's stable public versions, any for the others).
    """
    from tests.arm_standin.certs import generate

    port = port or procs.free_port()
    workdir = BUILD / "arm-standin" / str(port)
    certs = generate(workdir)
    standin = ArmStandin(
        port=port,
        ca_path=certs.ca,
        tenant_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        client_secret="standin-secret-" + uuid.uuid4().hex,
        subscription_id=str(uuid.uuid4()),
        log_path=log_path,
    )
    config = {
        "port": port,
        "cert": str(certs.cert),
        "key": str(certs.key),
        "log": str(log_path),
        "tenant_id": standin.tenant_id,
        "client_id": standin.client_id,
        "client_secret": standin.client_secret,
        "subscription_id": standin.subscription_id,
        "resource_groups": list(resource_groups),
        "virtual_networks": virtual_networks or [],
        "lro_polls": lro_polls,
        "retry_after": retry_after,
    }
    if api_versions is not None:
        config["api_versions"] = api_versions
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    config_path.chmod(0o600)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    standin.proc = procs.start([sys.executable, "-m", "tests.arm_standin.server", "--config", str(config_path)],
                               log_path.with_suffix(".stdout.log"), cwd=str(REPO))
    try:
        procs.wait_for_port(port, timeout=30, proc=standin.proc)
    except Exception:
        standin.stop()
        raise
    return standin
