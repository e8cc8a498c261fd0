"""Well-known paths of the project, the staged collection and the local environment."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".build"
COLLECTIONS = BUILD / "collections"
COLLECTION_LINK = COLLECTIONS / "ansible_collections" / "nats_streaming" / "ft"
STATE_DIR = Path(os.environ.get("NSFT_STATE_DIR", REPO / ".localenv"))
CACHE_DIR = Path(os.environ.get("NSFT_CACHE_DIR", Path.home() / ".cache" / "nats_streaming_ft"))
BIN_DIR = CACHE_DIR / "current"


def pinned_versions() -> dict[str, str]:
    """The versions tests/localenv/build.sh pins (NAME_VERSION=...), with its NSFT_* overrides.

    Read from this checkout's build.sh rather than from the cache's versions.env, which any other
    checkout sharing the cache may have rewritten."""
    import re

    out = {}
    text = (REPO / "tests" / "localenv" / "build.sh").read_text()
    for match in re.finditer(r'^(\w+_VERSION)="(?:\$\{(\w+):-([^}]*)\}|([^"$]*))"', text, re.M):
        name, override, default, plain = match.groups()
        out[name] = os.environ.get(override, default) if override else plain
    return out


def stage_collection() -> Path:
    """Make ansible_collections/nats_streaming/ft point at the repository (idempotent)."""
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if not COLLECTION_LINK.is_symlink():
        COLLECTION_LINK.symlink_to(os.path.relpath(REPO, COLLECTION_LINK.parent))
    return COLLECTIONS
