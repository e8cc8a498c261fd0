"""Changing the replicas or a file option changes the objects and the config checksum
annotation (so a converge rolls the pods); a change that does not touch stan.conf does not."""

from __future__ import annotations

import copy
import hashlib

from .realserver import parsed_options


def _objects(rendered, case):
    return {o["kind"]: o for o in rendered[case]["manifests"]}


def _checksum(objects):
    return objects["StatefulSet"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_checksum_is_the_sha256_of_the_rendered_stan_conf(rendered):
    objects = _objects(rendered, "stan_guide")
    conf = rendered["stan_guide"]["conf"]
    assert _checksum(objects) == hashlib.sha256(conf.strip().encode()).hexdigest()
    assert objects["ConfigMap"]["data"]["stan.conf"].strip() == conf.strip()


def test_changing_replicas_changes_routes_replicas_and_checksum(rendered):
    base, changed = _objects(rendered, "stan_guide"), _objects(rendered, "stan_replicas_5")
    assert base["StatefulSet"]["spec"]["replicas"] == 3
    assert changed["StatefulSet"]["spec"]["replicas"] == 5
    routes = parsed_options(changed["ConfigMap"]["data"]["stan.conf"])["nats"]["cluster"]["routes"]
    assert routes == [f"nats://stan-{i}.stan:6222" for i in range(5)]
    assert _checksum(changed) != _checksum(base)


def test_changing_a_file_option_changes_the_config_and_checksum_only(rendered):
    base, changed = _objects(rendered, "stan_guide"), _objects(rendered, "stan_buffer_64mb")
    before = parsed_options(base["ConfigMap"]["data"]["stan.conf"])["streaming"]["FileStoreOpts"]
    after = parsed_options(changed["ConfigMap"]["data"]["stan.conf"])["streaming"]["FileStoreOpts"]
    assert before["BufferSize"] == 32 * 1024 * 1024
    assert after["BufferSize"] == 64 * 1024 * 1024
    assert {k: v for k, v in after.items() if k != "BufferSize"} == {k: v for k, v in before.items() if k != "BufferSize"}
    assert _checksum(changed) != _checksum(base)
    # Apart from the annotation the StatefulSet is the same: the checksum is what rolls the pods.
    strip = [copy.deepcopy(base["StatefulSet"]), copy.deepcopy(changed["StatefulSet"])]
    for sts in strip:
        sts["spec"]["template"]["metadata"]["annotations"].pop("checksum/config")
    assert strip[0] == strip[1]


def test_a_label_change_does_not_change_the_checksum(rendered):
    base, changed = _objects(rendered, "stan_guide"), _objects(rendered, "stan_extra_label")
    assert changed["StatefulSet"]["metadata"]["labels"]["team"] == "orders"
    assert _checksum(changed) == _checksum(base)
