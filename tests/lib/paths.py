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


def stage_collection() -> Path:
    """Make ansible_collections/nats_streaming/ft point at the repository (idempotent)."""
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if not COLLECTION_LINK.is_symlink():
        COLLECTION_LINK.symlink_to(os.path.relpath(REPO, COLLECTION_LINK.parent))
    return COLLECTIONS
