"""VllmRouter objects (operator-spec §d.5): the vllm-router Deployment and its Service."""

from __future__ import annotations

from typing import Any

from ..models import VllmRouterSpec
from ..models.shared import ImageSpec
from ..naming import ROUTER_APP, router_endpoint
from .common import compact, image_fields, service, tcp_port, workload

CONTAINER = "router"
COMMAND = ["/bin/sh", "-c"]  # a shell finds the binary on PATH in every router image
IMAGE = ImageSpec(repository="vllm/vllm-router", tag="nightly")
HEALTH_PATH = "/health"
FAMILY = (ROUTER_APP, "router")


def router_image(image: ImageSpec | None) -> ImageSpec:
    """The router's image: an empty repository or tag falls back to the router's own default."""
    if image is None:
        return IMAGE
    return image.model_copy(update={"repository": image.repository or IMAGE.repository, "tag": image.tag or IMAGE.tag})


def router_command(namespace: str, spec: VllmRouterSpec) -> str:
    """The one shell argument, flags in the operator's order. It names the vLLM Services with
    their namespace, so every environment's overlay patches it."""
    flags = [
        "--policy",
        spec.policy,
        "--vllm-pd-disaggregation",
        "--prefill",
        router_endpoint(spec.prefill.service_name, namespace, spec.prefill.port),
        "--decode",
        router_endpoint(spec.decode.service_name, namespace, spec.decode.port),
        "--host",
        "0.0.0.0",
        "--port",
        str(spec.port),
        "--intra-node-data-parallel-size",
        str(spec.intra_node_data_parallel_size),
    ]
    return "exec vllm-router " + " ".join(flags)


def deployment(name: str, namespace: str, spec: VllmRouterSpec) -> dict[str, Any]:
    container = compact(
        name=CONTAINER,
        **image_fields(router_image(spec.image)),
        command=list(COMMAND),
        args=[router_command(namespace, spec)],
        ports=[tcp_port("http", spec.port, "containerPort")],
        env=spec.env,
        readinessProbe={
            "httpGet": {"path": HEALTH_PATH, "port": spec.port},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
        },
    )
    pod = compact(
        containers=[container],
        nodeSelector=spec.node_selector,
        tolerations=spec.tolerations,
        priorityClassName=spec.priority_class_name,
    )
    return workload("Deployment", name, namespace, FAMILY, {"replicas": spec.replicas}, pod)


def router_objects(name: str, namespace: str, spec: VllmRouterSpec) -> list[dict[str, Any]]:
    port = {**tcp_port("http", spec.port), "targetPort": spec.port}
    service_type = spec.service_type or "ClusterIP"
    return [deployment(name, namespace, spec), service(name, namespace, FAMILY, [port], type=service_type)]
