"""The ends of the version ranges the collection declares, and the `ansible` releases that carry them.

Galaxy is not reachable from CI, so collection versions come from the `ansible` community
package on PyPI, which bundles ansible-core's companion collections:

- minimum: ansible 9.0.1 (the first 9.x on PyPI) bundles amazon.aws 7.0.0 and kubernetes.core
  2.4.0 and runs on ansible-core 2.16.x; the stage pins ansible-core 2.16.0 itself.
- maximum: ansible 12.3.0, the newest release installable on Python 3.11 (ansible 13 needs
  Python 3.12, as do ansible-core 2.20 and later): ansible-core 2.19.14, amazon.aws 10.1.2,
  kubernetes.core 6.2.0.

galaxy.yml, requirements.yml, meta/runtime.yml and the execution environment definitions state
exactly these floors and the caps below; tests/packaging/test_versions.py checks that they do.
"""

from __future__ import annotations

MINIMUM = {"ansible": "9.0.1", "ansible-core": "2.16.0", "amazon.aws": "7.0.0", "kubernetes.core": "2.4.0"}
MAXIMUM = {"ansible": "12.3.0", "ansible-core": "2.19.14", "amazon.aws": "10.1.2", "kubernetes.core": "6.2.0"}

# The first versions NOT supported (not tested): ansible-core 2.20 needs Python 3.12.
CAPS = {"ansible-core": "2.20.0", "amazon.aws": "11.0.0", "kubernetes.core": "7.0.0"}


def stage_name(kind: str, versions: dict) -> str:
    """e.g. min-core2.16.0-aws7.0.0-k8s2.4.0"""
    return "{}-core{}-aws{}-k8s{}".format(kind, versions["ansible-core"], versions["amazon.aws"], versions["kubernetes.core"])


def requirement(name: str) -> str:
    """The version range declared for ansible-core or a collection: >=minimum,<cap."""
    return ">={},<{}".format(MINIMUM[name], CAPS[name])
