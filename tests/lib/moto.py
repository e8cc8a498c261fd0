"""A real moto_server on 127.0.0.1 (the AWS emulator)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import procs

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-2",
    "AWS_REGION": "us-east-2",
}


@dataclass
class MotoServer:
    port: int
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment that points boto3, botocore and amazon.aws at this server."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url, "AWS_URL": self.url}

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).read()

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc.pid)
            self.proc = None


def moto_server_command() -> str:
    exe = Path(sys.executable).with_name("moto_server")
    return str(exe) if exe.exists() else (shutil.which("moto_server") or "moto_server")


def start_moto(log: Path, port: int | None = None, recording: Path | None = None) -> MotoServer:
    """Start moto_server; with `recording`, moto's request recorder writes there once started
    (POST /moto-api/recorder/start-recording), which is how tests count API calls."""
    port = port or procs.free_port()
    env = {**os.environ, **CREDENTIALS}
    if recording is not None:
        env["MOTO_RECORDER_FILEPATH"] = str(recording)
    proc = procs.start([moto_server_command(), "-H", "127.0.0.1", "-p", str(port)], log, env=env)
    procs.wait_for_port(port, timeout=60, proc=proc)
    return MotoServer(port=port, proc=proc)


class MotoRecorder:
    """moto's request recorder on the environment's moto_server (started with a recording file)."""

    def __init__(self, url: str):
        self.url = url

    def _call(self, action: str) -> str:
        method = "GET" if action == "download-recording" else "POST"
        req = urllib.request.Request(f"{self.url}/moto-api/recorder/{action}", method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode()

    def start(self) -> None:
        self._call("reset-recording")
        self._call("start-recording")

    def stop(self) -> list[str]:
        """Stop recording; return the AWS operations recorded, as 'service:Operation'."""
        from tests.aws_noop_calls import OperationNamer

        self._call("stop-recording")
        entries = [json.loads(line) for line in self._call("download-recording").splitlines() if line.strip()]
        namer = OperationNamer()
        return [namer.name(e) for e in entries]
