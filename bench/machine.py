"""What the benchmarks ran on: hardware, kernel, filesystem and tool versions."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from tests.lib.paths import BIN_DIR


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def memory() -> str:
    raw = _first("/proc/meminfo", "MemTotal")
    try:
        return f"{int(raw.split()[0]) / 1024 / 1024:.1f} GiB"
    except (ValueError, IndexError):
        return raw


def filesystem_of(path: Path) -> str:
    """Filesystem type and device of the mount holding `path` (longest mount-point prefix)."""
    path = path.resolve()
    best = ("", "unknown", "unknown")
    try:
        lines = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        device, mount, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
        inside = str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best[0]):
            best = (mount, fstype, device)
    return f"{best[1]} ({best[2]} on {best[0]})"


def tool_versions() -> dict[str, str]:
    out = {}
    vfile = BIN_DIR / "versions.env"
    if vfile.exists():
        for line in vfile.read_text(encoding="utf-8").splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


def go_version() -> str:
    go = shutil.which("go")
    if not go:
        return "not found"
    proc = subprocess.run([go, "version"], capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.strip().replace("go version ", "") or "unknown"


def collection_version(namespace: str, name: str) -> str:
    for entry in sys.path:
        manifest = Path(entry) / "ansible_collections" / namespace / name / "MANIFEST.json"
        if manifest.exists():
            return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    return "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe(store_dir: Path) -> dict[str, str]:
    """Ordered facts about this machine and run, for the report header."""
    versions = tool_versions()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{_first('/proc/cpuinfo', 'model name')} ({os.cpu_count()} logical CPUs, nproc {len(os.sched_getaffinity(0))})",
        "memory": memory(),
        "kernel": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "STAN store filesystem": filesystem_of(store_dir),
        "Python": platform.python_version(),
        "Go": go_version(),
        "ansible-core": package_version("ansible-core"),
        "kubernetes.core / amazon.aws": f"{collection_version('kubernetes', 'core')} / {collection_version('amazon', 'aws')}",
        "moto / boto3 / kubernetes (Python)": f"{package_version('moto')} / {package_version('boto3')} / {package_version('kubernetes')}",
        "built tools (versions.env)": ", ".join(f"{k.removesuffix('_VERSION').lower()} {v}" for k, v in versions.items()) or "unknown",
    }
