"""Sub-structs shared by the kinds (operator-spec §b.1), with the CRD defaults and the Go rules."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..k8s import apiserver
from ..k8s.schema import Kube
from .base import AsGoReadsMissing, Model, Rule, at_least, greater_than, in_range, non_empty, rule_error

Int32 = Annotated[int, in_range(-(2**31), 2**31 - 1, message="must be a 32-bit integer")]
EnginePort = Annotated[Int32, in_range(1024, 65535)]
AnyPort = Annotated[Int32, in_range(1, 65535)]
Fraction = Annotated[float, in_range(0.0, 1.0, open_low=True, message="must be in (0.0, 1.0]")]
NonEmpty = Annotated[str, non_empty()]
# The operator's ValidateSpec words for the strings it requires (lmcacheengine_validation.go).
GoString = Annotated[str, non_empty("must be a non-empty string")]
GoName = Annotated[str, non_empty("must be non-empty")]
PullPolicy = Literal["Always", "Never", "IfNotPresent"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
GpuVendor = Literal["nvidia", "amd"]
StringMap = dict[str, str]
RelativePath = Annotated[
    str,
    non_empty(),
    Rule(
        lambda v: not v.startswith(("/", "\\")) and ":" not in v,
        "must be a relative path (the same on every machine)",
    ),
    Rule(lambda v: v.isprintable(), "must be a path of printable characters (no control characters)"),
]

# Kubernetes shapes, validated against the Kubernetes 1.33 schema.
Affinity = Annotated[dict[str, Any], Kube("Affinity")]
Tolerations = Annotated[list[Any], Kube("Toleration", many=True, rules=apiserver.tolerations)]
EnvVars = Annotated[list[Any], Kube("EnvVar", many=True, rules=apiserver.env)]
Volumes = Annotated[list[Any], Kube("Volume", many=True, rules=apiserver.volumes)]
VolumeMounts = Annotated[list[Any], Kube("VolumeMount", many=True)]
Containers = Annotated[list[Any], Kube("Container", many=True, rules=apiserver.containers)]
Resources = Annotated[dict[str, Any], Kube("ResourceRequirements")]
PullSecrets = Annotated[list[Any], Kube("LocalObjectReference", many=True)]


class ImageSpec(Model):
    """A container image; the CRD fills every field that is left out."""

    repository: str = "lmcache/vllm-openai"
    tag: str = "latest"
    pull_policy: PullPolicy = "IfNotPresent"

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


class ServerSpec(Model):
    """The cache server's listening ports and engine settings."""

    port: EnginePort = 5555
    chunk_size: Int32 = 256
    max_workers: Int32 = 1
    hash_algorithm: Literal["builtin", "sha256_cbor", "blake3"] = "blake3"
    http_port: EnginePort = 8080
    """HTTP frontend (health, admin): `--http-port`, container and Service port `http`."""


class L1BackendSpec(Model):
    size_gb: Annotated[float, greater_than(0)] = Field(alias="sizeGB")
    """L1 (host memory) cache size in GB; drives the memory request and limit."""


class EvictionSpec(Model):
    policy: Literal["LRU"] = "LRU"
    """Only LRU: the operator's ValidateSpec rejects every other value, `noop` included."""
    trigger_watermark: Fraction = 0.8
    eviction_ratio: Fraction = 0.2


class ServiceMonitorSpec(Model):
    enabled: bool = False
    interval: Annotated[
        str,
        Field(pattern=r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"),
    ] = "30s"
    """Scrape interval, a Prometheus duration (the ServiceMonitor CRD's pattern)."""
    labels: StringMap | None = None


class PrometheusSpec(Model):
    enabled: bool = True
    port: AnyPort = 9090
    service_monitor: ServiceMonitorSpec | None = None


class SecretRef(AsGoReadsMissing, Model):
    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"name": ""}

    name: GoName
    namespace: str | None = None
    """Must be the resource's own namespace: lmcache-gitops never copies Secrets."""


class LocalSecretRef(AsGoReadsMissing, Model):
    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"name": ""}

    name: GoName


class RespBackendSpec(AsGoReadsMissing, Model):
    """Redis / Valkey through the native RESP adapter."""

    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"host": ""}

    host: GoString
    port: AnyPort
    num_workers: Annotated[Int32, at_least(1)] = 8
    max_capacity_gb: float = Field(0, alias="maxCapacityGB")
    """0 turns eviction tracking off (the key is left out of the adapter JSON)."""
    auth_secret_ref: SecretRef | None = None


class RawBackendSpec(AsGoReadsMissing, Model):
    """Any other adapter (fs, mock, nixl_store, raw_block, s3, ...), passed through as JSON."""

    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"type": ""}

    type: GoString
    config: dict[str, Any] | None = None

    @field_validator("config")
    @classmethod
    def _no_type_key(cls, config: dict[str, Any] | None) -> dict[str, Any] | None:
        if config and "type" in config:
            raise rule_error("must not set 'type': use raw.type")
        return config


class AesGcmSpec(Model):
    master_key_secret_ref: LocalSecretRef
    key_provider: Literal["hkdf"] = "hkdf"
    aes_bits: Literal[128, 256] = 128


class SerdeSpec(Model):
    aesgcm: AesGcmSpec | None = None

    @model_validator(mode="after")
    def _one_type(self) -> SerdeSpec:
        if self.aesgcm is None:
            raise rule_error("Required value: exactly one serde type must be set")
        return self


class L2BackendSpec(Model):
    """One L2 adapter: exactly one of `resp` or `raw`, plus policies and an optional serde."""

    resp: RespBackendSpec | None = None
    raw: RawBackendSpec | None = None
    store_policy: Literal["default", "skip_l1"] = "default"
    prefetch_policy: Literal["default", "retain"] = "default"
    prefetch_max_in_flight: Annotated[Int32, at_least(1)] = 8
    serde: SerdeSpec | None = None

    @field_validator("serde")
    @classmethod
    def _serde_alone(cls, serde: SerdeSpec | None, info: ValidationInfo) -> SerdeSpec | None:
        raw = info.data.get("raw")
        if serde is not None and raw is not None and raw.config and "serde" in raw.config:
            raise rule_error("cannot be combined with a raw adapter that sets a 'serde' config key")
        return serde

    @model_validator(mode="after")
    def _exactly_one(self) -> L2BackendSpec:
        if self.resp is None and self.raw is None:
            raise rule_error("Required value: exactly one of resp or raw must be set")
        if self.resp is not None and self.raw is not None:
            raise rule_error("exactly one of resp or raw must be set, got multiple")
        return self


class LegacyL2Adapter(Model):
    """An item of the docs' `l2Backends` list: one `--l2-adapter {type, config...}`."""

    type: NonEmpty
    config: dict[str, Any] | None = None


class CoordinatorRef(Model):
    name: str = ""


class CoordinatorConnectionSpec(Model):
    """How an engine reaches its coordinator: exactly one of `ref` or `url`."""

    ref: CoordinatorRef | None = None
    """An LMCacheCoordinator in the engine's namespace, among the compiled specs."""
    url: str = ""
    advertise_ip: str = Field("", alias="advertiseIP")
    """The address announced to the coordinator; the pod IP when empty."""
    heartbeat_interval: Annotated[float, greater_than(0)] = 5
    event_reporting: bool | None = None
    event_flush_interval: Annotated[float, greater_than(0)] | None = None
    l2_event_reporting: bool | None = None
    """The docs' name for `eventReporting`."""
    l2_event_flush_interval: Annotated[float, greater_than(0)] | None = None
    """The docs' name for `eventFlushInterval`."""

    @field_validator("l2_event_reporting", "l2_event_flush_interval")
    @classmethod
    def _one_spelling(cls, value: Any, info: ValidationInfo) -> Any:
        newer = info.data.get((info.field_name or "").replace("l2_event", "event"))
        if value is not None and newer is not None and newer != value:
            raise rule_error("conflicts with the newer name of this field; set only one of them")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> CoordinatorConnectionSpec:
        has_ref = self.ref is not None and self.ref.name != ""
        if has_ref and self.url:
            raise rule_error("exactly one of ref or url must be set, got both")
        if not has_ref and not self.url:
            raise rule_error("Required value: exactly one of ref or url must be set")
        return self

    @property
    def reporting(self) -> bool:
        return bool(self.event_reporting if self.event_reporting is not None else self.l2_event_reporting)

    @property
    def flush_interval(self) -> float:
        for value in (self.event_flush_interval, self.l2_event_flush_interval):
            if value is not None:
                return value
        return 1.0


class PDSpec(Model):
    """Prefill/decode disaggregation through NIXL."""

    nixl_side_channel_port: EnginePort = 5558
    nixl_load_failure_policy: Literal["fail", "ignore"] = "fail"
    enforce_handshake_compat: bool | None = None
    role: Literal["prefiller", "decoder"] | None = None
    """First PD design: one MultiConnector config for this role. Leave it out for the three-key
    ConfigMap that serves prefillers, decoders and plain pods at once."""


class PodSettings(Model):
    """What every kind says about its pods: image, resources, scheduling, env, volumes, metadata."""

    image: ImageSpec = Field(default_factory=ImageSpec)
    image_pull_secrets: PullSecrets | None = None
    resource_overrides: Resources | None = None
    log_level: LogLevel = "INFO"
    node_selector: StringMap | None = None
    affinity: Affinity | None = None
    tolerations: Tolerations | None = None
    env: EnvVars | None = None
    volumes: Volumes | None = None
    volume_mounts: VolumeMounts | None = None
    pod_annotations: StringMap | None = None
    pod_labels: StringMap | None = None
    service_account_name: str = ""
    priority_class_name: str = ""
    extra_args: list[str] | None = None


class EngineSpecBase(PodSettings):
    """Fields both engine kinds share (LMCacheEngine and CacheBlendEngine)."""

    gpu_vendor: GpuVendor = "nvidia"
    runtime_class_name: str | None = None
    """Unset: `nvidia` for gpuVendor nvidia, none for amd. Empty: no runtimeClassName."""
    server: ServerSpec = Field(default_factory=ServerSpec)
    l1: L1BackendSpec
    eviction: EvictionSpec = Field(default_factory=EvictionSpec)
    prometheus: PrometheusSpec | None = None
    l2_backend: L2BackendSpec | None = None
    l2_backends: list[LegacyL2Adapter] | None = None
    """The docs' list form: each item one `--l2-adapter`. Not together with `l2Backend`."""
    coordinator: CoordinatorConnectionSpec | None = None
    pd: PDSpec | None = None
    resource_overrides: Resources | None = None
    """Replaces the computed resources entirely (nothing is merged)."""
    node_selector: StringMap | None = None
    """Unset: `nvidia.com/gpu.present: "true"` for gpuVendor nvidia. `{}` selects every node."""
    host_ipc: bool = Field(True, alias="hostIPC")
    """Share the host's IPC namespace (default). false: mount the host's /dev/shm instead."""
    privileged: bool = True
    extra_args: list[str] | None = None
    """Appended last to the server's arguments; a repeated flag wins over the generated one."""

    @field_validator("l2_backends")
    @classmethod
    def _one_l2_form(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("l2_backend") is not None:
            raise rule_error("must not be set together with spec.l2Backend")
        return value
