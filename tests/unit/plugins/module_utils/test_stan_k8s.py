"""Pure helpers of the Kubernetes source of stan_ft_status (plugins/module_utils/stan_k8s.py).

The source itself runs against kubernetes.core's real client, the local environment's real API
server and STAN pods in tests/e2e/test_ft_status_k8s.py.
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


class ApiErr(Exception):
    def __init__(self, status, reason, body=b""):
        super().__init__(reason)
        self.status, self.reason, self.body = status, reason, body


def test_read_error_names_the_credential_options_on_401():
    msg = stan_k8s.read_error("StatefulSet", "messaging", ApiErr(401, "Unauthorized"))
    assert msg.startswith("reading StatefulSet in namespace messaging failed: HTTP 401 Unauthorized; ")
    assert "api_key" in msg and "kubeconfig" in msg and "K8S_AUTH_" in msg


def test_read_error_names_the_permissions_needed_on_403():
    msg = stan_k8s.read_error("Pod", "messaging", ApiErr(403, "Forbidden"))
    assert "HTTP 403 Forbidden" in msg
    assert "list on pods and get on pods/proxy in namespace messaging" in msg


def test_read_error_adds_no_hint_to_other_errors():
    msg = stan_k8s.read_error("Pod", "messaging", ApiErr(500, "Internal Server Error", b"etcd down"))
    assert msg == "reading Pod in namespace messaging failed: HTTP 500 Internal Server Error: etcd down"
