"""The local cluster's pod network: what kind's own CNI (kindnetd) does, which cannot be fetched here.

A DaemonSet on every node (host network, so it runs before any pod network exists) keeps:
- this node's CNI config: the ptp plugin with host-local addresses from the node's own
  `spec.podCIDR` (one fixed subnet on every node would give pods on two nodes the same address);
- a route to every other node's pod CIDR via that node's address, so pods reach pods across nodes.
It reconciles every few seconds from the Node objects, so a node that restarts (its routes gone,
perhaps a new address) is whole again on its own, as with kindnetd. It uses the images's kubectl
(the pinned one, in-cluster credentials: list nodes only) and busybox `ip`.

    manifests(image) -> the objects;  deploy(api_client, image) -> apply them
"""

from __future__ import annotations

from tests.localenv import kubeapply

NAMESPACE = "kube-system"
NAME = "nsft-pod-network"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "nsft-localenv"}

SCRIPT = r"""#!/bin/sh
# Keeps this node's CNI config (ptp, host-local from spec.podCIDR) and routes to the other nodes'
# pod CIDRs, from the Node objects, every few seconds. /tmp/synced (the readiness probe's file)
# exists once a whole pass has succeeded.
set -u
conf="/host/etc/cni/net.d/10-nsft-ptp.conflist"
render() {
    cat <<EOF
{
  "cniVersion": "0.4.0",
  "name": "nsft-ptp",
  "plugins": [
    {"type": "ptp", "ipMasq": false, "mtu": 1500,
     "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam-state",
              "ranges": [[{"subnet": "$1"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}
fields='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}'
fields="$fields"'{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}'
while :; do
    if kubectl get nodes -o jsonpath="$fields" >/tmp/nodes 2>/tmp/error; then
        synced=yes
        while read -r name cidr address; do
            if [ -z "$cidr" ] || [ -z "$address" ]; then
                synced=no
                continue
            fi
            if [ "$name" = "$NODE_NAME" ]; then
                render "$cidr" >/tmp/conf
                if ! cmp -s /tmp/conf "$conf"; then
                    if cp /tmp/conf "$conf.tmp" && mv "$conf.tmp" "$conf"; then
                        echo "CNI config for $cidr written"
                    else
                        synced=no
                    fi
                fi
            else
                case "$(ip route show "$cidr")" in
                    *"via $address "*) ;;
                    *) if ip route replace "$cidr" via "$address"; then
                           echo "route to $cidr via $address ($name)"
                       else
                           synced=no
                       fi ;;
                esac
            fi
        done </tmp/nodes
        if [ "$synced" = yes ]; then
            touch /tmp/synced
        fi
        sleep 5
    else
        cat /tmp/error
        sleep 1
    fi
done
"""


def manifests(image: str) -> list[dict]:
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": LABELS},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": NAME, "labels": LABELS},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
               "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}
    daemonset = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        "spec": {
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": NAME,
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{
                        "name": "pod-network",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "/usr/local/bin/nsft-pod-network"],
                        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/synced"]}, "periodSeconds": 2},
                        "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                        "volumeMounts": [{"name": "cni-conf", "mountPath": "/host/etc/cni/net.d"}],
                    }],
                    "volumes": [{"name": "cni-conf",
                                 "hostPath": {"path": "/etc/cni/net.d", "type": "DirectoryOrCreate"}}],
                },
            },
        },
    }
    return [account, role, binding, daemonset]


def deploy(api_client, image: str) -> None:
    kubeapply.apply(api_client, manifests(image))
