"""Apply the local environment's own objects (server-side apply, one field manager)."""

from __future__ import annotations

FIELD_MANAGER = "nsft-localenv"


def apply(api_client, objects: list[dict]) -> None:
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    for obj in objects:
        resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        dyn.server_side_apply(resource, body=obj, namespace=obj["metadata"].get("namespace"),
                              field_manager=FIELD_MANAGER, force_conflicts=True)
