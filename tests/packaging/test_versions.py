"""Every file that declares a version range declares the one CI tests at both ends."""

from __future__ import annotations

import yaml

from tests.lib.paths import REPO
from tests.packaging.versions import CAPS, MAXIMUM, MINIMUM, requirement, stage_name

COLLECTIONS = ("amazon.aws", "kubernetes.core")


def load(path: str):
    return yaml.safe_load((REPO / path).read_text())


def test_the_tested_ends_lie_inside_the_declared_ranges():
    for name in ("ansible-core", *COLLECTIONS):
        low, high, cap = (tuple(int(x) for x in v[name].split(".")) for v in (MINIMUM, MAXIMUM, CAPS))
        assert low <= high < cap, name


def test_galaxy_yml_dependencies_are_the_tested_range():
    assert load("galaxy.yml")["dependencies"] == {name: requirement(name) for name in COLLECTIONS}


def test_requirements_yml_is_the_tested_range():
    assert {c["name"]: c["version"] for c in load("requirements.yml")["collections"]} == {
        name: requirement(name) for name in COLLECTIONS
    }


def test_requires_ansible_is_the_tested_core_range():
    assert load("meta/runtime.yml")["requires_ansible"] == requirement("ansible-core")


def test_execution_environment_example_is_the_tested_range():
    ee = load("docs/awx/execution-environment.yml")["dependencies"]
    assert ee["ansible_core"]["package_pip"] == "ansible-core" + requirement("ansible-core")
    pinned = {c["name"]: c["version"] for c in ee["galaxy"]["collections"] if c["name"] in COLLECTIONS}
    assert pinned == {name: requirement(name) for name in COLLECTIONS}
    # meta/execution-environment.yml takes the collections from requirements.yml (checked above).
    assert load("meta/execution-environment.yml")["dependencies"]["galaxy"] == "requirements.yml"


def test_ci_has_a_stage_for_each_end_named_after_its_versions():
    from tests.run import STAGES

    names = [stage[0] for stage in STAGES]
    assert stage_name("min", MINIMUM) in names and stage_name("max", MAXIMUM) in names
    assert stage_name("min", MINIMUM) == "min-core2.16.0-aws7.0.0-k8s2.4.0"


def test_roles_state_the_core_floor():
    for meta in sorted((REPO / "roles").glob("*/meta/main.yml")):
        assert load(str(meta.relative_to(REPO)))["galaxy_info"]["min_ansible_version"] == MINIMUM["ansible-core"], meta
