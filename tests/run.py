"""The project's test command: every stage in order, stopping at the first failure.

    python tests/run.py                 all stages
    python tests/run.py --only unit,stan
    python tests/run.py --list

Stages that need the local environment (a kind cluster with real pods + moto) start it first and
stop it at the end, checking that nothing it made is left behind; their commands run through
`localenv.py run --`, i.e. with its variables and in the network namespace that reaches the
cluster. A stage that finds no tests to run fails: no test files (EMPTY) or no tests collected
(pytest exit code 5) make the run fail, as a failed test does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lib.paths import BUILD, stage_collection  # noqa: E402
from tests.packaging.versions import MAXIMUM, MINIMUM, stage_name  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PY = sys.executable


def tool(name: str) -> str:
    exe = VENV_BIN / name
    return str(exe) if exe.exists() else (shutil.which(name) or name)


class Empty(Exception):
    """The stage has nothing to run: it fails (a stage that tests nothing must not pass)."""


def sh(cmd: list[str], env: dict | None = None, cwd: Path = REPO, allow_no_tests: bool = False) -> None:
    print(f"$ {' '.join(cmd)}", flush=True)
    rc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=False).returncode
    if rc == 5 and not allow_no_tests and Path(cmd[0]).name.startswith(("python", "pytest")):
        raise RuntimeError("pytest collected no tests (exit code 5): a stage that tests nothing fails")
    if rc != 0:
        raise RuntimeError(f"command failed with exit code {rc}: {' '.join(cmd)}")


def pytest(path: str, *extra: str) -> None:
    target = REPO / path
    if not target.exists() or not any(target.rglob("test_*.py")):
        raise Empty(f"no tests under {path}")
    sh([PY, "-m", "pytest", path, "-p", "no:cacheprovider", *extra], cwd=REPO)


def in_env(cmd: list[str]) -> list[str]:
    """cmd run through the local environment (its variables, its network namespace)."""
    return [PY, str(REPO / "tests" / "localenv" / "localenv.py"), "run", "--", *cmd]


def pytest_in_env(path: str, *extra: str) -> None:
    target = REPO / path
    if not target.exists() or not any(target.rglob("test_*.py")):
        raise Empty(f"no tests under {path}")
    sh(in_env([PY, "-m", "pytest", path, "-p", "no:cacheprovider", *extra]))


# --------------------------------------------------------------------------- stages
def stage_lint() -> None:
    sh([tool("yamllint"), "-s", "."])
    sh([tool("ruff"), "check", "."])
    # ansible-lint installs the collection it lints into ~/.ansible/collections, where it would
    # shadow the checkout for the user's later ansible runs: give it a home of its own.
    home = BUILD / "lint-home"
    home.mkdir(parents=True, exist_ok=True)
    sh([tool("ansible-lint"), "--profile", "production", "--offline"],
       env={"ANSIBLE_COLLECTIONS_PATH": str(stage_collection()), "HOME": str(home)})


def stage_sanity() -> None:
    """ansible-test sanity on a staged copy of exactly the files git would ship."""
    import importlib.metadata

    import ansible_collections  # the ones the `ansible` package ships

    run_sanity("sanity", importlib.metadata.version("ansible-core"), [Path(p) for p in ansible_collections.__path__])


def run_sanity(name: str, core: str, dependency_paths: list[Path]) -> None:
    """ansible-test sanity of ansible-core ``core`` with the dependencies found under ``dependency_paths``."""
    root = BUILD / name / "ansible_collections" / "nats_streaming" / "ft"
    shutil.rmtree(root.parents[2], ignore_errors=True)
    root.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    # The collections we depend on, beside ours, as ansible-test expects to find them.
    for dep in ("amazon/aws", "kubernetes/core"):
        source = next(p / dep for p in dependency_paths if (p / dep).is_dir())
        link = root.parents[1] / dep
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(source)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    sh([sanity_ansible_test(core), "sanity", "--local", "--requirements", "--python", "3.11", "--color", "no"], cwd=root)


def sanity_ansible_test(core: str) -> str:
    """ansible-test in its own virtualenv: --requirements pins sanity tools we keep out of .venv.

    ansible-test bootstraps pip in each per-test virtualenv with a script it downloads from a
    host this machine cannot reach; tests/sanity/pip_bootstrap.py does the same job offline.
    """
    venv = BUILD / f"sanity-venv-{core}"
    marker = venv / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([shutil.which("python3") or "python3", "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", f"ansible-core=={core}"])
        marker.touch()
    pip_version = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from ansible_test._internal.python_requirements import get_venv_packages;"
         "import types; print(get_venv_packages(types.SimpleNamespace(version='3.11'))['pip'])"], capture_output=True, text=True, check=False).stdout.strip()
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{(pip_version or '24.2').replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "tests" / "sanity" / "pip_bootstrap.py", cache)
    return str(venv / "bin" / "ansible-test")


def stage_package() -> None:
    pytest("tests/packaging")


def stage_unit() -> None:
    pytest("tests/unit")


def stage_integration() -> None:
    pytest("tests/integration")


def stage_roles() -> None:
    pytest("tests/roles", "--ignore=tests/roles/scans")


def stage_standins() -> None:
    """The local environment's own parts, before they are used: the CSI node stand-in's Go tests
    (they play the kubelet and bind-mount directories, so they need root) and the checks of the
    locally written images and the stand-in's manifests."""
    if os.geteuid() != 0:
        raise RuntimeError("the CSI node stand-in's tests bind-mount directories: run this stage as root")
    go = shutil.which("go") or "go"
    sh([go, "test", "-count=1", "./..."], cwd=REPO / "tests" / "localenv" / "csi-standin",
       env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"})
    pytest("tests/localenv_tests")


def stage_env_up() -> None:
    sh([PY, "tests/localenv/localenv.py", "up"])


def stage_smoke() -> None:
    pytest_in_env("tests/smoke")


def molecule(scenario: str) -> None:
    if not (REPO / "molecule" / scenario / "molecule.yml").exists():
        raise Empty(f"no molecule/{scenario} scenario yet")
    # molecule calls ansible-playbook and ansible-config by name: put the venv first on PATH.
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # molecule keeps per-scenario state (e.g. "prepared") under ~/.ansible/tmp, keyed by the
    # checkout's path; a second `make test` in the same checkout would otherwise skip prepare.
    sh(in_env([tool("molecule"), "reset", "-s", scenario]), env=env)
    sh(in_env([tool("molecule"), "test", "-s", scenario]), env=env)


def stage_molecule_kind() -> None:
    molecule("kind")


def stage_stan() -> None:
    pytest("tests/stan")


def stage_jetstream() -> None:
    """STAN -> JetStream migration and the nats_jetstream role's NATS cluster, with real
    nats-server and nats-streaming-server processes on 127.0.0.1 (no Kubernetes needed)."""
    pytest("tests/jetstream")


def stage_e2e() -> None:
    pytest_in_env("tests/e2e")


def stage_podsecurity() -> None:
    pytest_in_env("tests/podsecurity")


def stage_awx() -> None:
    pytest_in_env("tests/awx")


def stage_env_down() -> None:
    sh([PY, "tests/localenv/localenv.py", "down"])
    sh([PY, "-m", "pytest", "tests/teardown", "-p", "no:cacheprovider"])


# --------------------------------------------------------------------------- manifest scanners
CHECKOV = "checkov==3.3.30"
KUBE_SCORE = "github.com/zegl/kube-score/cmd/kube-score@v1.20.0"


def stage_scan() -> None:
    """checkov (own virtualenv) and kube-score (go install) on the roles' default renders."""
    venv = BUILD / "checkov"
    marker = venv / f".installed-{CHECKOV}"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([shutil.which("python3") or "python3", "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", CHECKOV])
        marker.touch()
    bin_dir = BUILD / "bin"
    kube_score = bin_dir / "kube-score"
    version = KUBE_SCORE.rsplit("@", 1)[1]
    stamp = bin_dir / f".kube-score-{version}"
    if not stamp.exists():
        bin_dir.mkdir(parents=True, exist_ok=True)
        sh(["go", "install", KUBE_SCORE], env={"GOBIN": str(bin_dir)}, cwd=BUILD)
        stamp.touch()
    sh([PY, "-m", "pytest", "tests/roles/scans", "-p", "no:cacheprovider", "-s"],
       env={"NSFT_CHECKOV": str(venv / "bin" / "checkov"), "NSFT_KUBE_SCORE": str(kube_score)})


# --------------------------------------------------------------------------- galaxy-importer
GALAXY_IMPORTER = "galaxy-importer==0.4.44"


def stage_galaxy_importer() -> None:
    """What Galaxy runs on upload, on the built tarball, ansible-doc and ansible-lint enabled."""
    venv = BUILD / "galaxy-importer"
    marker = venv / f".installed-{GALAXY_IMPORTER}"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([shutil.which("python3") or "python3", "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", GALAXY_IMPORTER])
        marker.touch()
    work = BUILD / "galaxy-import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sh([tool("ansible-galaxy"), "collection", "build", "--output-path", str(work), str(REPO)])
    tarball = next(work.glob("*.tar.gz"))
    # Like Galaxy: only the importer's own ansible-core, no collections, no user configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin", GALAXY_IMPORTER_RUN_ANSIBLE_DOC="true",
               GALAXY_IMPORTER_RUN_ANSIBLE_LINT="true", GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT="true",
               HOME=str(work))
    print(f"$ galaxy-importer {tarball.name}", flush=True)
    with open(work / "importer.log", "w") as log:
        proc = subprocess.run([str(venv / "bin" / "python"), "-m", "galaxy_importer.main", str(tarball)], cwd=work,
                              env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    print((work / "importer.log").read_text(), flush=True)
    result = work / "importer_result.json"
    if proc.returncode != 0 or not result.exists():
        raise RuntimeError(f"galaxy-importer failed (exit code {proc.returncode}), see {work / 'importer.log'}")
    data = json.loads(result.read_text())
    counts = {}
    for content in data["docs_blob"]["contents"]:
        documented = bool((content.get("doc_strings") or {}).get("doc") or content.get("readme_html"))
        kind = counts.setdefault(content["content_type"], [0, 0])
        kind[0] += 1
        kind[1] += documented
    print("galaxy-importer contents (documented/total): "
          + ", ".join(f"{kind} {done}/{total}" for kind, (total, done) in sorted(counts.items())), flush=True)
    sh([PY, "-m", "pytest", "tests/galaxy_importer", "-p", "no:cacheprovider"],
       env={"NSFT_GALAXY_IMPORTER_RESULT": str(result)})


# --------------------------------------------------------------------------- version range ends
# What the other stages run on the `ansible` release of test-requirements.txt, these run on the
# ends of the ranges galaxy.yml, requirements.yml and meta/runtime.yml declare
# (tests/packaging/versions.py), each in its own virtualenv under .build/.
RANGE_TEST_PACKAGES = ["pytest>=8.0.0", "moto[server]>=5.0.0", "jmespath>=1.0.0", "cryptography>=42.0.0"]


def ansible_release_venv(versions: dict, with_tests: bool) -> Path:
    """A virtualenv with the `ansible` release carrying ``versions``, checked against them."""
    venv = BUILD / f"ansible-{versions['ansible']}-core-{versions['ansible-core']}{'-tests' if with_tests else ''}"
    marker = venv / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        sh([shutil.which("python3") or "python3", "-m", "venv", str(venv)])
        packages = [f"ansible=={versions['ansible']}", f"ansible-core=={versions['ansible-core']}"]
        if with_tests:
            packages += ["-r", str(REPO / "requirements.txt"), *RANGE_TEST_PACKAGES]
        sh([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *packages])
        marker.touch()
    found = json.loads(subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, ansible_collections, pathlib, ansible.release as r;"
         "m = lambda c: json.loads(next(pathlib.Path(p, c, 'MANIFEST.json') for p in ansible_collections.__path__"
         " if pathlib.Path(p, c, 'MANIFEST.json').exists()).read_text())['collection_info']['version'];"
         "print(json.dumps({'ansible-core': r.__version__, 'amazon.aws': m('amazon/aws'), 'kubernetes.core': m('kubernetes/core')}))"],
        capture_output=True, text=True, check=True).stdout)
    wanted = {k: versions[k] for k in found}
    if found != wanted:
        raise RuntimeError(f"{venv.name} carries {found}, not the tested {wanted}")
    print(f"versions in {venv.name}: {found}", flush=True)
    return venv


def venv_collection_paths(venv: Path) -> list[Path]:
    return [Path(p) for p in subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import ansible_collections; print('\\n'.join(ansible_collections.__path__))"],
        capture_output=True, text=True, check=True).stdout.split()]


def stage_minimum() -> None:
    """Sanity, unit tests and the efs_filesystem integration target on the declared minimum."""
    venv = ansible_release_venv(MINIMUM, with_tests=True)
    run_sanity("sanity-min", MINIMUM["ansible-core"], venv_collection_paths(venv))
    python = str(venv / "bin" / "python")
    sh([python, "-m", "pytest", "tests/unit", "-p", "no:cacheprovider"])
    sh([python, "-m", "pytest", "tests/integration/test_aws_modules.py", "-p", "no:cacheprovider",
        "-k", "test_efs_filesystem_create_rerun_update_bad_input_delete"])


def stage_maximum() -> None:
    """Sanity on the newest tested versions."""
    venv = ansible_release_venv(MAXIMUM, with_tests=False)
    run_sanity("sanity-max", MAXIMUM["ansible-core"], venv_collection_paths(venv))


STAGES = [
    ("lint", stage_lint, False),
    ("sanity", stage_sanity, False),
    (stage_name("min", MINIMUM), stage_minimum, False),
    (stage_name("max", MAXIMUM), stage_maximum, False),
    ("package", stage_package, False),
    ("galaxy-importer", stage_galaxy_importer, False),
    ("unit", stage_unit, False),
    ("integration", stage_integration, False),
    ("roles", stage_roles, False),
    ("scan", stage_scan, False),
    ("standins", stage_standins, False),
    ("env-up", stage_env_up, True),
    ("smoke", stage_smoke, True),
    ("stan", stage_stan, False),
    ("jetstream", stage_jetstream, False),
    ("e2e", stage_e2e, True),
    ("podsecurity", stage_podsecurity, True),
    ("awx", stage_awx, True),
    ("molecule-kind", stage_molecule_kind, True),
    ("env-down", stage_env_down, True),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated stage names")
    parser.add_argument("--skip", default="", help="comma-separated stage names to leave out")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, _func, needs_env in STAGES:
            print(f"{name}{'  (local environment)' if needs_env else ''}")
        return 0
    names = [stage[0] for stage in STAGES]
    wanted = args.only.split(",") if args.only else names
    unknown = [w for w in wanted + args.skip.split(",") if w and w not in names]
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {names}")
    selected = [s for s in STAGES if s[0] in wanted and s[0] not in args.skip.split(",")]
    # Stages that need the environment pull in env-up/env-down around them.
    if any(stage[2] for stage in selected if stage[0] not in ("env-up", "env-down")):
        selected = [s for s in STAGES if s in selected or s[0] in ("env-up", "env-down")]

    stage_collection()
    results: list[tuple[str, str, float, str]] = []
    failed = False
    env_started = False
    for name, func, _needs_env in selected:
        if failed and name != "env-down":
            results.append((name, "NOT RUN", 0.0, "an earlier stage failed"))
            continue
        if name == "env-down" and not env_started:
            results.append((name, "NOT RUN", 0.0, "environment was not started"))
            continue
        print(f"\n===== stage {name} =====", flush=True)
        t0 = time.monotonic()
        try:
            func()
            status, note = "PASSED", ""
            if name == "env-up":
                env_started = True
        except Empty as exc:
            status, note, failed = "EMPTY", str(exc), True
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            status, note, failed = "FAILED", str(exc).splitlines()[0][:100], True
            if name == "env-up":
                env_started = True  # env-up cleans up after itself; env-down double-checks
        results.append((name, status, time.monotonic() - t0, note))

    print("\n===== summary =====")
    for name, status, secs, note in results:
        print(f"{name:12} {status:8} {secs:7.1f}s  {note}")
    passed = sum(1 for r in results if r[1] == "PASSED")
    nfailed = sum(1 for r in results if r[1] == "FAILED")
    empty = sum(1 for r in results if r[1] == "EMPTY")
    print(f"stages: {passed} passed, {nfailed} failed, {empty} empty (an empty stage fails the run)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
