# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read /streaming/serverz of STAN pods through the Kubernetes API server's pod proxy.

The pods are found by StatefulSet name (its label selector; every ordinal up to
spec.replicas is expected) or by label selectors, and each pod's monitor port is read at
``/api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy/streaming/serverz``, so nothing but the
API server has to be reachable from where Ansible runs. The client is kubernetes.core's
(``get_api_client``), configured by its standard auth options.
"""

from __future__ import absolute_import, division, print_function

import re

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_monitor import (
    MISSING,
    SERVERZ_PATH,
    SourceError,
    parse_serverz,
    server_record,
)


def k8s_client(module):
    """kubernetes.core's API client built from the module's k8s_auth_options."""
    module.requires("kubernetes")
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

    try:
        return get_api_client(module=module)
    except CoreException as e:
        raise SourceError("could not create the Kubernetes API client: %s" % to_native(e))


def selector_string(selector):
    """A LabelSelector (matchLabels/matchExpressions) as a label selector query string."""
    selector = selector or {}
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!%s" % key)
    return ",".join(parts)


def natural_key(name):
    """stan-2 sorts before stan-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def api_error_text(e):
    """A short readable form of a kubernetes client exception."""
    status = getattr(e, "status", None)
    reason = getattr(e, "reason", None)
    body = getattr(e, "body", None)
    text = "HTTP %s %s" % (status, reason) if status else (to_native(e).splitlines() or [repr(e)])[0]
    if body:
        text += ": %s" % to_text(body, errors="surrogate_or_replace").strip()[:200]
    return text


# What to check when the API server refuses a request, by HTTP status.
AUTH_HINTS = {
    401: "the API server did not accept the credentials: check api_key, kubeconfig and context, client_cert and"
         " client_key, or username and password (or their K8S_AUTH_* environment variables)",
    403: "the credentials are not allowed to read it: they need get on statefulsets, list on pods and get on"
         " pods/proxy in namespace %s",
}


def read_error(kind, namespace, e):
    """The message for a failed read of ``kind``: the API server's answer, and what to fix for 401/403."""
    text = "reading %s in namespace %s failed: %s" % (kind, namespace, api_error_text(e))
    hint = AUTH_HINTS.get(getattr(e, "status", None))
    if hint:
        text += "; " + (hint % namespace if "%s" in hint else hint)
    return text


class K8sSource:
    def __init__(self, client, namespace, statefulset=None, label_selectors=None, port=8222, timeout=5):
        self.client = client
        self.namespace = namespace
        self.statefulset = statefulset
        self.label_selectors = label_selectors or []
        self.port = port
        self.timeout = timeout

    def _get(self, kind, api_version, **params):
        from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

        try:
            resource = self.client.resource(kind, api_version)
            return self.client.get(resource, **params).to_dict()
        except NotFoundError:
            return None
        except DynamicApiError as e:
            raise SourceError(read_error(kind, self.namespace, e))
        except Exception as e:  # connection refused, TLS, auth plugin errors...
            raise SourceError("reading %s in namespace %s failed: %s" % (kind, self.namespace, to_native(e)))

    def pods(self):
        """(pods, expected names): the matching pods sorted by name, and the StatefulSet's ordinals."""
        expected = []
        if self.statefulset:
            sts = self._get("StatefulSet", "apps/v1", name=self.statefulset, namespace=self.namespace)
            if sts is None:
                raise SourceError(
                    "StatefulSet %s not found in namespace %s: check statefulset and namespace"
                    % (self.statefulset, self.namespace)
                )
            spec = sts.get("spec") or {}
            selector = selector_string(spec.get("selector"))
            replicas = spec.get("replicas")
            expected = ["%s-%d" % (self.statefulset, i) for i in range(1 if replicas is None else replicas)]
        else:
            selector = ",".join(self.label_selectors)
        found = self._get("Pod", "v1", namespace=self.namespace, label_selector=selector) or {}
        pods = sorted(found.get("items") or [], key=lambda p: natural_key(p["metadata"]["name"]))
        return pods, expected

    def proxy_path(self, pod_name):
        return "/api/v1/namespaces/%s/pods/%s:%d/proxy%s" % (
            quote(self.namespace, safe=""),
            quote(pod_name, safe=""),
            self.port,
            SERVERZ_PATH,
        )

    def fetch(self, pod):
        from kubernetes.dynamic.exceptions import DynamicApiError

        name = pod["metadata"]["name"]
        path = self.proxy_path(name)
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp"):
            return server_record(name, path, error="pod is being deleted")
        if status.get("phase") != "Running" or not status.get("podIP"):
            return server_record(name, path, error="pod is %s, not Running" % (status.get("phase") or "unknown"))
        try:
            resp = self.client.client.request("get", path, serialize=False, _request_timeout=self.timeout)
            return server_record(name, path, parse_serverz(resp.data))
        except DynamicApiError as e:
            return server_record(name, path, error="pod proxy: %s" % api_error_text(e))
        except ValueError as e:
            return server_record(name, path, error=to_native(e))
        except Exception as e:  # urllib3 timeouts and connection errors
            return server_record(name, path, error="pod proxy: %s" % (to_native(e) or e.__class__.__name__))

    def servers(self):
        pods, expected = self.pods()
        records = [self.fetch(pod) for pod in pods]
        seen = set(r["name"] for r in records)
        for name in expected:
            if name not in seen:
                records.append(
                    server_record(name, self.proxy_path(name), error="pod does not exist", state=MISSING)
                )
        return sorted(records, key=lambda r: natural_key(r["name"]))
