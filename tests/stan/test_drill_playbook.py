"""playbooks/failover_drill.yml is for real clusters (molecule/kind runs it); here it is checked
with ansible-playbook --syntax-check and ansible-lint (production profile)."""

from __future__ import annotations

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
