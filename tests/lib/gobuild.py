"""Build the tests' small Go programs once per source version, into the cache.

    path = build_cached(REPO / "tests" / "stan" / "stanclient", "stanclient")

The binary is named after a hash of the directory's go.mod, go.sum and *.go files, so a changed
program is rebuilt and an unchanged one is never rebuilt. Modules come from the Go module proxy
(or the local module cache), checked against go.sum.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .paths import CACHE_DIR


def source_files(src: Path) -> list[Path]:
    return [src / "go.mod", src / "go.sum", *sorted(src.glob("*.go"))]


def cached_path(src: Path, name: str) -> Path:
    """Where the binary of the current source lives (it may not be built yet)."""
    digest = hashlib.sha256()
    for path in source_files(src):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return CACHE_DIR / "bin" / f"{name}-{digest.hexdigest()[:12]}"


def build_cached(src: Path, name: str, timeout: float = 900) -> Path:
    """Build the program in src unless this source version is already in the cache; return its path."""
    out = cached_path(src, name)
    if os.access(out, os.X_OK):
        return out
    go = shutil.which("go")
    if not go:
        raise RuntimeError(f"go is required to build {src.name} ({src})")
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -trimpath", "GOTOOLCHAIN": "local"}
    tmp = f"{out}.tmp-{os.getpid()}"
    proc = subprocess.run([go, "build", "-o", tmp, "."], cwd=src, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"building {src.name} failed:\n{proc.stderr[-3000:]}")
    os.replace(tmp, out)
    return out
