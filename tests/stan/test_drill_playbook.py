"""playbooks/failover_drill.yml: ansible-playbook --syntax-check and ansible-lint (production profile),
and its input check. It runs end to end in tests/e2e/test_failover_drill.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.lib.ansible_runner import ansible_env
from tests.lib.paths import REPO

DRILL = REPO / "playbooks" / "failover_drill.yml"
BIN = Path(sys.executable).parent


def test_failover_drill_passes_syntax_check():
    proc = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(DRILL)],
                          capture_output=True, text=True, env=ansible_env(), cwd=REPO, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_failover_drill_passes_ansible_lint():
    proc = subprocess.run([str(BIN / "ansible-lint"), str(DRILL.relative_to(REPO))],
                          capture_output=True, text=True, env=ansible_env(), cwd=REPO, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_failover_drill_rejects_an_unknown_client_before_touching_the_cluster():
    from tests.lib.ansible_runner import run_playbook

    play = run_playbook(DRILL, extra_vars={"drill_client": "laptop"}, timeout=300)
    assert play.rc != 0
    failed = [t for t in play.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == ["Validate inputs"], play.stdout[-2000:]
    assert "drill_client must be job or controller (got 'laptop')" in failed[0]["result"]["msg"]
    assert len(play.tasks) == 1


def test_failover_drill_in_controller_mode_needs_stan_pub_and_stan_sub_on_path():
    from tests.lib.ansible_runner import run_playbook

    path = f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"  # the venv, not the STAN binaries
    play = run_playbook(DRILL, extra_vars={"drill_client": "controller"}, env={"PATH": path}, timeout=300)
    assert play.rc != 0
    failed = [t for t in play.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == ["Fail unless stan-pub and stan-sub are on the controller's PATH"], play.stdout[-2000:]
    assert "they are not on its PATH (neither found)" in failed[0]["result"]["msg"]
    assert "Check that exactly one server is FT_ACTIVE before the drill" not in [t["name"] for t in play.tasks]


def test_failover_drill_rejects_a_job_timeout_too_short_for_its_own_subscriber():
    from tests.lib.ansible_runner import run_playbook

    play = run_playbook(DRILL, extra_vars={"drill_job_timeout": 10}, timeout=300)
    assert play.rc != 0
    failed = [t for t in play.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == ["Validate inputs"], play.stdout[-2000:]
    assert "drill_job_timeout at least 30 (seconds)" in failed[0]["result"]["msg"]
    assert len(play.tasks) == 1
