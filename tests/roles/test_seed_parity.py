"""Seed parity: with the guide's inputs the roles render the guide's objects, field for field,
except the deliberate deviations listed in deviations.yaml (and docs/roles.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .realserver import parsed_options
from .rendering import load_seed, manifest_diff, pattern_regex

HERE = Path(__file__).parent
SEED = HERE / "seed"
DOCS = HERE.parents[1] / "docs" / "roles.md"
DEVIATIONS = yaml.safe_load((HERE / "deviations.yaml").read_text())

# (rendered case, seed file). The second efs case deploys into another namespace, where the
# guide's hard-coded "default" in the role bindings shows up as a difference.
PARITY = [
    ("efs_guide", "efs_provisioner.manifests"),
    ("efs_guide_other_namespace", "efs_provisioner.manifests"),
    ("stan_guide", "stan.manifests"),
    ("azure_guide", "azure_files_claim.yaml"),
]


def _covers(deviation: dict, path: str) -> bool:
    return any(pattern_regex(p).match(path) for p in deviation["match"])


@pytest.fixture(scope="module")
def differences(rendered):
    found = []
    for case, seed_file in PARITY:
        for path, seed_value, our_value in manifest_diff(load_seed(SEED / seed_file), rendered[case]["manifests"]):
            found.append((case, path, seed_value, our_value))
    return found


def test_seed_parity_differs_only_by_listed_deviations(differences, capsys):
    uncovered = [d for d in differences if not any(_covers(dev, d[1]) for dev in DEVIATIONS)]
    assert not uncovered, "differences from the seed guide that deviations.yaml does not list:\n" + "\n".join(
        f"  [{case}] {path}: guide={seed!r} ours={ours!r}" for case, path, seed, ours in uncovered
    )
    stale = [dev["id"] for dev in DEVIATIONS if not any(_covers(dev, d[1]) for d in differences)]
    assert not stale, f"deviations that no longer match any difference (remove or fix them): {stale}"
    with capsys.disabled():
        print("\nDeliberate deviations from the seed guide:")
        for dev in DEVIATIONS:
            paths = sorted({d[1] for d in differences if _covers(dev, d[1])})
            print(f"  {dev['id']} {dev['title']} ({len(paths)} field(s))")
            for path in paths[:4]:
                print(f"        {path}")
            if len(paths) > 4:
                print(f"        ... and {len(paths) - 4} more")


def test_seed_objects_are_all_rendered(rendered):
    for case, seed_file in PARITY:
        ours = {(o["kind"], o["metadata"]["name"]) for o in rendered[case]["manifests"]}
        missing = [(o["kind"], o["metadata"]["name"]) for o in load_seed(SEED / seed_file)
                   if (o["kind"], o["metadata"]["name"]) not in ours]
        assert not missing, f"{case}: guide objects the role does not render: {missing}"


def test_role_bindings_follow_the_namespace_variable(rendered):
    for obj in rendered["efs_guide_other_namespace"]["manifests"]:
        if obj["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            assert [s["namespace"] for s in obj["subjects"]] == ["stan-system"], obj


def test_deviations_are_documented():
    text = DOCS.read_text()
    undocumented = [dev["id"] for dev in DEVIATIONS if f"| {dev['id']} |" not in text]
    assert not undocumented, f"docs/roles.md does not list deviations {undocumented}"


def test_azure_guide_helm_values_are_honoured(rendered):
    """The guide's Azure section is Helm values, not manifests: check each value lands in the objects."""
    values = load_seed(SEED / "stan_azure_values.yaml")[0]
    objects = {o["kind"]: o for o in rendered["stan_azure_guide"]["manifests"]}
    sts = objects["StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    stan = next(c for c in pod["containers"] if c["name"] == "stan")
    conf = parsed_options(objects["ConfigMap"]["data"]["stan.conf"])
    store_volume = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    mount = next(m for m in stan["volumeMounts"] if m["name"] == store_volume["name"])

    assert sts["spec"]["replicas"] == values["stan"]["replicas"]
    assert conf["streaming"]["NATSServerURL"] == values["stan"]["nats"]["url"]
    assert conf["nats"]["cluster"] == {"host": "", "port": 0, "advertise": "", "connect_retries": 0, "routes": []}, \
        "with an external NATS there is no embedded NATS cluster"
    assert conf["streaming"]["StoreType"] == values["store"]["type"].upper()
    assert conf["streaming"]["FTGroupName"] == values["store"]["ft"]["group"]
    assert conf["streaming"]["FilestoreDir"] == values["store"]["file"]["path"]
    assert mount["mountPath"] == values["store"]["volume"]["mount"]
    assert store_volume["persistentVolumeClaim"]["claimName"] == values["store"]["volume"]["persistentVolumeClaim"]["claimName"]
    # Deliberate deviation D04: the image is pinned instead of the floating alpine tag.
    assert values["stan"]["image"] == "nats-streaming:alpine"
    assert stan["image"] == "nats-streaming:0.25.6-alpine"
