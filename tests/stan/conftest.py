"""Fixtures for the real fault-tolerance tests: STAN binaries, the test client, FT groups.

Every server runs the stan.conf that the `stan` role's template renders (tests/lib/stan.py),
on 127.0.0.1 with free ports, and is stopped by the PID that started it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lib.ansible_runner import PlayResult, run_playbook
from tests.lib.paths import BUILD
from tests.lib.stan import StanCluster, binary
from tests.lib.stanclient import StanClient, build_stanclient

HERE = Path(__file__).resolve().parent
CLIENT_SRC = HERE / "stanclient"
RESULTS = BUILD / "stan-ft-results.json"


@pytest.fixture(scope="session")
def stan_binaries() -> dict[str, Path]:
    try:
        return {name: binary(name) for name in ("nats-streaming-server", "stan-pub", "stan-sub")}
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def stanclient(stan_binaries) -> StanClient:
    """The test client, built once per source version into the cache (tests/lib/stanclient.py)."""
    try:
        return StanClient(build_stanclient())
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def stan_cluster(stan_binaries, tmp_path, request):
    """Three servers, one FT group, one shared store directory; one of them FT_ACTIVE."""
    cluster = StanCluster(tmp_path / "ft", size=3)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(cluster.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def ft_status():
    """Run nats_streaming.ft.stan_ft_status through ansible-playbook; returns (PlayResult, module result)."""

    def _run(monitor_urls: list[str], **options) -> tuple[PlayResult, dict]:
        extra = {"ft_monitor_urls": monitor_urls, **{f"ft_{k}": v for k, v in options.items()}}
        play = run_playbook(HERE / "ft_status.yml", extra_vars=extra, timeout=600)
        try:
            result = play.task("Check that exactly one server is active")
        except KeyError:
            raise AssertionError(f"module did not run (rc={play.rc}): {play.stdout[-2000:]} {play.stderr[-2000:]}")
        return play, result

    return _run


class Results:
    """Measurements of this run, printed and written to .build/stan-ft-results.json."""

    def __init__(self) -> None:
        self.data: dict = {}

    def record(self, key: str, value) -> None:
        self.data[key] = value
        print(f"\n[stan-ft] {key}: {json.dumps(value)}")


@pytest.fixture(scope="session")
def ft_results():
    results = Results()
    yield results
    if results.data:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        previous.update(results.data)
        RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
        print(f"\n[stan-ft] results written to {RESULTS}")
