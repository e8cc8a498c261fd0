"""Pure helpers of the Kubernetes source of stan_ft_status (plugins/module_utils/stan_k8s.py).

The source itself runs against kubernetes.core's real client and a fake API server at the HTTP
boundary in tests/stan/test_ft_status_k8s.py (it forwards the pod proxy to real servers).
"""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import stan_k8s


@pytest.mark.parametrize(
    "selector, expected",
    [
        ({"matchLabels": {"app": "stan", "tier": "mq"}}, "app=stan,tier=mq"),
        ({"matchLabels": {"app": "stan"},
          "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]},
                               {"key": "env", "operator": "NotIn", "values": ["dev"]},
                               {"key": "ft", "operator": "Exists"},
                               {"key": "legacy", "operator": "DoesNotExist"}]},
         "app=stan,zone in (a,b),env notin (dev),ft,!legacy"),
        ({}, ""),
        (None, ""),
    ],
)
def test_selector_string(selector, expected):
    assert stan_k8s.selector_string(selector) == expected


def test_natural_key_orders_ordinals_numerically():
    names = ["stan-10", "stan-2", "stan-1", "stan-0"]
    assert sorted(names, key=stan_k8s.natural_key) == ["stan-0", "stan-1", "stan-2", "stan-10"]


def test_proxy_path_quotes_namespace_and_pod():
    source = stan_k8s.K8sSource(client=None, namespace="messaging", port=8222)
    assert source.proxy_path("stan-0") == "/api/v1/namespaces/messaging/pods/stan-0:8222/proxy/streaming/serverz"


def test_api_error_text_uses_status_reason_and_body():
    class Err(Exception):
        status = 503
        reason = "Service Unavailable"
        body = b'{"message": "error trying to reach service"}'

    assert stan_k8s.api_error_text(Err()) == 'HTTP 503 Service Unavailable: {"message": "error trying to reach service"}'
    assert stan_k8s.api_error_text(ValueError("boom\nmore")) == "boom"
