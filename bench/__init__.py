"""Benchmarks of nats_streaming.ft: scripts that print figures, never timed assertions.

The benchmarks run their own local environment in <repo>/.build/bench-env (or
$NSFT_BENCH_STATE_DIR), so they never touch the environment that tests or demos use. The state
directory is chosen here, before anything imports tests.lib.paths (which reads it at import).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_STATE_DIR = Path(os.environ.get("NSFT_BENCH_STATE_DIR", REPO / ".build" / "bench-env"))
os.environ["NSFT_STATE_DIR"] = str(BENCH_STATE_DIR)
