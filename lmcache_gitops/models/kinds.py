"""The four custom resources (operator-spec §b.2-§b.5) and their envelope."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from ..k8s.schema import Kube
from .base import API_VERSION, AsGoReadsMissing, Model, Rule, at_least, greater_than, in_range, required, rule_error
from .inprocess import OWN_API_VERSION, LMCacheConfigSpec, LMCacheServerSpec
from .shared import (
    AnyPort,
    Containers,
    EnginePort,
    EngineSpecBase,
    EnvVars,
    Fraction,
    ImageSpec,
    Int32,
    NonEmpty,
    PodSettings,
    PrometheusSpec,
    PullSecrets,
    ServerSpec,
    StringMap,
    Tolerations,
)


class Metadata(Model):
    name: str
    namespace: str | None = None
    """Where the generated objects go; `render --namespace` (default "default") when left out."""
    labels: StringMap | None = None
    annotations: StringMap | None = None


class _Resource(Model):
    api_version: Literal[API_VERSION]  # type: ignore[valid-type]  # mypy takes only literals; this is one
    metadata: Metadata
    status: dict[str, Any] | None = None
    """Written by the operator; accepted and ignored."""


# ---- LMCacheEngine ----


class LMCacheInjectionSpec(Model):
    """What the vLLM pod injection adds besides the connection (unset: connection only)."""

    payload_image: ImageSpec | None = None
    image_pull_secrets: PullSecrets | None = None
    target_container: str = ""


class LMCacheEngineSpec(EngineSpecBase):
    isolated_ipc: bool = Field(False, alias="isolatedIPC")
    """Pod-private IPC: no hostIPC, no shared /dev/shm, `--isolated-ipc`. Never switched on for you."""
    host_network: bool = False
    init_containers: Containers | None = None
    injection: LMCacheInjectionSpec | None = None


class LMCacheEngine(_Resource):
    """An LMCache cache server on every selected node (DaemonSet), with its Services and connection."""

    kind: Literal["LMCacheEngine"]
    spec: LMCacheEngineSpec = Field(default_factory=dict, validate_default=True)


# ---- CacheBlendEngine ----


class CacheBlendServerSpec(ServerSpec):
    chunk_size: Annotated[
        Int32,
        in_range(256, 256, message="must be 256 for CacheBlend (chunk_size == block_size 64 * 4)"),
    ] = 256


class BlendSpec(Model):
    check_layer: Annotated[Int32, at_least(0, go=True)] = 1
    """`cb.check_layer`: the layer where token importance is scored."""
    recomp_ratio: Fraction = 0.15
    """`cb.recomp_ratio`: the share of non-prefix tokens recomputed."""
    partial_bucket: Annotated[Int32, at_least(1, go=True)] | None = None
    """`cb.partial_bucket`: PARTIAL row padding for fp8-MoE models; unset leaves it out."""


def _no_pythonpath(env: dict[str, Any]) -> dict[str, Any]:
    if env.get("name") == "PYTHONPATH":
        raise rule_error("PYTHONPATH is managed by the CacheBlend plugin staging and cannot be set here")
    return env


class PayloadImageSpec(ImageSpec):
    # Empty is reported after parsing (fleet), so that the workloads wired to the engine are
    # reported too, with the webhook's payload-image-unset.
    repository: str = Field("lmcache/vllm-openai", json_schema_extra={"minLength": 1})
    """Set it: the engine image that the CRD default fills in is not a valid payload."""


_INJECTION_REQUIRED = required("must be specified for CacheBlend injection")


class CacheBlendInjectionSpec(AsGoReadsMissing, Model):
    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"payloadImage": None}

    payload_image: Annotated[PayloadImageSpec, _INJECTION_REQUIRED]
    """The cacheblend-plugin init-container image (required)."""
    image_pull_secrets: PullSecrets | None = None
    target_container: str = ""
    cudagraph: Literal["eager", "piecewise", "full_decode_only"] = "eager"
    block_size: Annotated[Int32, at_least(1, go=True)] = 64
    attention_backend: Annotated[
        str, Rule(lambda v: v != "", 'must be a backend name or "none" to omit the flag', minLength=1)
    ] = "CUSTOM"
    """`--attention-backend` value; `none` leaves the flag out."""
    env: list[Annotated[dict[str, Any], Kube("EnvVar"), AfterValidator(_no_pythonpath)]] | None = None
    """Set on the vLLM container, replacing a variable of the same name."""


class CacheBlendEngineSpec(AsGoReadsMissing, EngineSpecBase):
    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"injection": None}

    server: CacheBlendServerSpec = Field(default_factory=CacheBlendServerSpec)
    blend: BlendSpec = Field(default_factory=BlendSpec)
    injection: Annotated[CacheBlendInjectionSpec, _INJECTION_REQUIRED]
    """Required, with its payloadImage."""


class CacheBlendEngine(_Resource):
    """A CacheBlend engine (`lmcache server --engine-type blend`) and its connection."""

    kind: Literal["CacheBlendEngine"]
    spec: CacheBlendEngineSpec = Field(default_factory=dict, validate_default=True)


# ---- LMCacheCoordinator ----


class LMCacheCoordinatorSpec(PodSettings):
    replicas: Annotated[Int32, at_least(0, go=True)] = 1
    host: str = "0.0.0.0"
    port: AnyPort = 9300
    instance_timeout: Annotated[float, greater_than(0)] = 30
    health_check_interval: Annotated[float, at_least(0, go=True)] = 10
    """Seconds between health sweeps; 0 turns the loop off."""
    eviction_check_interval: Annotated[float, at_least(0, go=True)] = 5
    eviction_ratio: Annotated[float, in_range(0.0, 1.0, message="must be in [0.0, 1.0]")] = 0.2
    trigger_watermark: Fraction = 1
    blend_chunk_size: Annotated[Int32, greater_than(0)] | None = None
    blend_probe_stride: Annotated[Int32, greater_than(0)] | None = None
    prometheus: PrometheusSpec | None = None
    """Left out: no metrics port (unlike engines, where it is on by default)."""


class LMCacheCoordinator(_Resource):
    """The fleet-wide coordinator (Deployment and Service) that engines register with."""

    kind: Literal["LMCacheCoordinator"]
    spec: LMCacheCoordinatorSpec = Field(default_factory=dict, validate_default=True)


# ---- VllmRouter ----


class RouterEndpointSpec(Model):
    """A vLLM Service the router forwards to (the user's, not an LMCache engine's)."""

    service_name: NonEmpty
    """A Service among the inputs, in the router's namespace."""
    port: AnyPort = 8000
    """The port of that Service the router dials."""


class VllmRouterSpec(Model):
    prefill: RouterEndpointSpec
    """The Service of the prefiller (kv_producer) vLLM pods."""
    decode: RouterEndpointSpec
    """The Service of the decoder (kv_consumer) vLLM pods."""
    port: EnginePort = 30000
    policy: Literal["round_robin", "session_based"] = "round_robin"
    replicas: Annotated[Int32, at_least(1)] = 1
    image: ImageSpec | None = None
    """Unset: vllm/vllm-router:nightly. Set: what it leaves out takes the CRD's image defaults
    (lmcache/vllm-openai, latest), as the operator's CRD fills them in."""
    intra_node_data_parallel_size: Annotated[Int32, at_least(1)] = 1
    """Must match the tensor-parallel size of the vLLM pods it routes to."""
    service_type: Literal["", "ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    """The router Service's type; empty reads as ClusterIP, as the operator reads it."""
    node_selector: StringMap | None = None
    tolerations: Tolerations | None = None
    env: EnvVars | None = None
    priority_class_name: str = ""


class VllmRouter(_Resource):
    """A vllm-router Deployment and Service in front of a prefill and a decode vLLM Service."""

    kind: Literal["VllmRouter"]
    spec: VllmRouterSpec


# ---- lmcache-gitops's own kinds (models/inprocess.py) ----


class _OwnResource(Model):
    api_version: Literal[OWN_API_VERSION]  # type: ignore[valid-type]  # mypy takes only literals; this is one
    metadata: Metadata


class LMCacheConfig(_OwnResource):
    """LMCache in the vLLM process: its configuration file (a ConfigMap), wired into the pods that
    name it, and the remote backend it uses (a shared LMCacheServer, or a cache that runs elsewhere)."""

    kind: Literal["LMCacheConfig"]
    spec: LMCacheConfigSpec = Field(default_factory=dict, validate_default=True)


class LMCacheServer(_OwnResource):
    """LMCache's shared KV store (`lmcache_server`): a Deployment and its Service."""

    kind: Literal["LMCacheServer"]
    spec: LMCacheServerSpec = Field(default_factory=dict, validate_default=True)


AnyResource = LMCacheEngine | CacheBlendEngine | LMCacheCoordinator | VllmRouter | LMCacheConfig | LMCacheServer
KINDS: dict[str, type[AnyResource]] = {
    "LMCacheEngine": LMCacheEngine,
    "CacheBlendEngine": CacheBlendEngine,
    "LMCacheCoordinator": LMCacheCoordinator,
    "VllmRouter": VllmRouter,
    "LMCacheConfig": LMCacheConfig,
    "LMCacheServer": LMCacheServer,
}
API_VERSIONS = {kind: model.model_fields["api_version"].annotation.__args__[0] for kind, model in KINDS.items()}  # type: ignore[union-attr]
"""Each kind's apiVersion: the operator's group, or lmcache-gitops's own."""
EngineResource = LMCacheEngine | CacheBlendEngine
