# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The Kubernetes API options of kubernetes.core (AUTH_ARG_SPEC in its module_utils/args_common.py,
    # the same from kubernetes.core 2.4.0 on), documented here so that the documentation renders where
    # kubernetes.core is not installed (Galaxy, ansible-doc on a bare controller).
    DOCUMENTATION = r"""
options:
  host:
    description:
      - The URL of the Kubernetes API server.
      - Falls back to E(K8S_AUTH_HOST) (injected by AWX's OpenShift or Kubernetes API Bearer Token credential).
    type: str
  api_key:
    description:
      - A bearer token for the API server.
      - Falls back to E(K8S_AUTH_API_KEY).
    type: str
  kubeconfig:
    description:
      - Path of a kubeconfig file, several paths separated by C(:) (C(;) on Windows), or the
        kubeconfig content as a dictionary.
      - Falls back to E(K8S_AUTH_KUBECONFIG); without it and without O(host), the Kubernetes client
        reads E(KUBECONFIG) or C(~/.kube/config), or uses the in-cluster service account.
    type: raw
  context:
    description:
      - The kubeconfig context to use.
      - Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (only for API servers configured for it).
      - Falls back to E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - Falls back to E(K8S_AUTH_PASSWORD).
    type: str
  client_cert:
    description:
      - Path of a client certificate to authenticate with.
      - Falls back to E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path of the key of O(client_cert).
      - Falls back to E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  ca_cert:
    description:
      - Path of the CA certificate chain that signed the API server's certificate.
      - Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Verify the API server's TLS certificate.
      - Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  proxy:
    description:
      - URL of an HTTP proxy for the API connection. E(HTTP_PROXY) and E(HTTPS_PROXY) are not read.
      - Falls back to E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains, addresses and CIDRs that bypass O(proxy).
      - Falls back to E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers sent to the proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) for a basic authentication header.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - The User-Agent header.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Write refreshed tokens (OIDC and similar) back to the kubeconfig file.
      - Falls back to E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - User name to impersonate.
      - Falls back to E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate.
      - Falls back to E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
    type: list
    elements: str
notes:
  - The module uses the client machinery of the C(kubernetes.core) collection, which must be installed
    where the module runs (it is listed as a dependency of this collection).
  - With O(validate_certs=true) the full CA chain of the API server must be given in O(ca_cert) or the
    kubeconfig.
"""
