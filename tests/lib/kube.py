"""Small helpers for the local Kubernetes control plane."""

from __future__ import annotations


def ensure_csi_driver(api_client, name: str) -> None:
    """Register a CSIDriver object, as a driver's installation would (only the API object:
    kwok nodes mount nothing). Leaves an existing one alone."""
    from kubernetes import client

    api = client.StorageV1Api(api_client)
    body = client.V1CSIDriver(metadata=client.V1ObjectMeta(name=name), spec=client.V1CSIDriverSpec(attach_required=False))
    try:
        api.create_csi_driver(body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
