"""Each role declares every variable of defaults/main.yml in meta/argument_specs.yml, with the
same default, a type and a description, and nothing else; variables carry the role's prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = ["efs_provisioner", "azure_files", "stan", "nats_jetstream"]
ROLES_WITH_IMAGES = ["efs_provisioner", "stan", "nats_jetstream"]


def _load(role: str):
    defaults = yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    return defaults, spec["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults, options = _load(role)
    assert set(defaults) == set(options), (
        f"only in defaults: {sorted(set(defaults) - set(options))}; only in specs: {sorted(set(options) - set(defaults))}"
    )
    for name, option in options.items():
        assert name.startswith(f"{role}_"), name
        assert option.get("type"), f"{name} has no type"
        assert option.get("description"), f"{name} has no description"
        assert option.get("default") == defaults[name], f"{name}: spec default {option.get('default')!r} != {defaults[name]!r}"
        if option["type"] == "list":
            assert option.get("elements"), f"{name}: list without elements"
        if "choices" in option:
            assert defaults[name] in option["choices"], name


@pytest.mark.parametrize("role", ROLES_WITH_IMAGES)
def test_default_images_are_pinned(role):
    defaults = _load(role)[0]
    images = {k: v for k, v in defaults.items() if k.endswith("_image")}
    assert images
    for name, image in images.items():
        tag = image.rsplit("/", 1)[-1]
        assert ":" in tag and not tag.endswith(":latest"), f"{name} = {image} is not pinned"


def test_secret_option_is_no_log():
    options = _load("azure_files")[1]
    assert options["azure_files_storage_account_key"].get("no_log") is True
