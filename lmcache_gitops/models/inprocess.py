"""lmcache-gitops's own kinds, beyond the operator: LMCache in the vLLM process, configured by a
file (`LMCacheConfig`), and the shared `lmcache_server` KV store it may use (`LMCacheServer`).

Their group is lmcache-gitops's, not the operator's: no cluster ever serves them; they exist in
git and compile into a ConfigMap, a Deployment and a Service. The keys LMCache reads and their
defaults are those of LMCache's `lmcache/v1/config.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import AsGoReadsMissing, Model, Rule, at_least, greater_than, non_empty, rule_error
from .shared import AnyPort, EnvVars, ImageSpec, Int32, Resources, StringMap, Tolerations

OWN_GROUP = "lmcache-gitops.io"
OWN_API_VERSION = f"{OWN_GROUP}/v1alpha1"

# The remote backends LMCache's connector registry parses (`<scheme>://...`).
REMOTE_SCHEMES = (
    "lm",
    "redis",
    "rediss",
    "redis-sentinel",
    "unix",
    "valkey",
    "infinistore",
    "mooncakestore",
    "s3",
    "blackhole",
)
LOCAL_DISK_PREFIX = "file:///"
# LMCache's other keys (`_CONFIG_DEFINITIONS` of lmcache/v1/config.py), set through `settings`
# as written; the keys the typed fields write are not among them.
OTHER_KEYS = frozenset(
    {
        "app_id",
        "audit_actual_remote_url",
        "blend_check_layers",
        "blend_min_tokens",
        "blend_recompute_ratios",
        "blend_special_str",
        "blend_thresholds",
        "blocking_timeout_secs",
        "controller_pull_url",
        "controller_reply_url",
        "cost_aware_ewma_alpha",
        "cost_aware_half_life_seconds",
        "enable_async_loading",
        "enable_blending",
        "enable_controller",
        "enable_kv_events",
        "enable_lazy_memory_allocator",
        "enable_pd",
        "external_lookup_client",
        "gds_backend",
        "gds_buffer_size",
        "gds_path",
        "gds_path_sharding",
        "internal_api_server_enabled",
        "internal_api_server_host",
        "internal_api_server_include_index_list",
        "internal_api_server_port_start",
        "internal_api_server_socket_path_prefix",
        "lazy_memory_expand_trigger_ratio",
        "lazy_memory_initial_ratio",
        "lazy_memory_safe_size",
        "lazy_memory_step_ratio",
        "lmcache_instance_id",
        "lmcache_worker_heartbeat_delay_time",
        "lmcache_worker_heartbeat_time",
        "lmcache_worker_ids",
        "lmcache_worker_ports",
        "local_cpu_use_hugepages",
        "local_disk_path_sharding",
        "lookup_timeout_ms",
        "maru_path",
        "maru_pool_size",
        "min_retrieve_tokens",
        "mp_host",
        "mp_port",
        "nixl_backends",
        "nixl_buffer_device",
        "nixl_buffer_size",
        "numa_mode",
        "p2p_host",
        "p2p_init_ports",
        "p2p_lookup_ports",
        "pd_allocation_timeout_sec",
        "pd_backend_mode",
        "pd_bidirectional",
        "pd_buffer_device",
        "pd_buffer_size",
        "pd_condition_poll_interval_sec",
        "pd_max_prefill_len",
        "pd_peer_alloc_port",
        "pd_peer_host",
        "pd_peer_init_port",
        "pd_peer_query_port",
        "pd_proxy_host",
        "pd_proxy_port",
        "pd_role",
        "pd_shutdown_timeout_sec",
        "pd_skip_proxy_notification",
        "pre_caching_hash_algorithm",
        "priority_limit",
        "py_enable_gc",
        "remote_config_url",
        "remote_storage_plugins",
        "reserve_local_cpu_size",
        "retrieve_locations",
        "runtime_plugin_locations",
        "save_decode_cache",
        "storage_plugins",
        "store_location",
        "transfer_channel",
        "use_gds",
        "use_layerwise",
    }
)


def _remote_url(url: str) -> bool:
    scheme, found, rest = url.partition("://")
    return bool(found) and scheme in REMOTE_SCHEMES and bool(rest)


RemoteUrl = Annotated[
    str,
    Rule(
        _remote_url,
        "must be <scheme>://<address> with a scheme LMCache reads: " + ", ".join(REMOTE_SCHEMES),
        pattern=f"({'|'.join(REMOTE_SCHEMES)})://.+",
    ),
]
# Sizes are plain GB numbers, as LMCache's float() reads them ("20Gi" is no size to it).
Gigabytes = Annotated[float, at_least(0)]


class RemoteSpec(Model):
    """LMCache's remote backend: exactly one of `url` (a cache lmcache-gitops does not deploy)
    or `server` (an LMCacheServer of the project)."""

    url: RemoteUrl | None = None
    """`remote_url`, such as redis://redis-master:6379 or lm://cache.example.com:65432."""
    server: Annotated[str, non_empty()] | None = None
    """An LMCacheServer in the same namespace: its in-cluster `lm://` address, per environment."""
    serde: Literal["naive", "kivi", "cachegen"] = "naive"
    """`remote_serde`: how KV chunks are serialised for the remote backend."""

    @model_validator(mode="after")
    def _exactly_one(self) -> RemoteSpec:
        if (self.url is None) == (self.server is None):
            raise rule_error("Required value: exactly one of url or server must be set")
        return self


class P2PSpec(Model):
    """Peer-to-peer sharing between vLLM instances (`enable_p2p`, LMCache up to 0.3)."""

    lookup_url: Annotated[str, non_empty()]
    """`lookup_url`: the lookup server, host:port."""
    distributed_url: Annotated[str, non_empty()]
    """`distributed_url`: this instance's address for peers, host:port."""


class LMCacheConfigSpec(AsGoReadsMissing, Model):
    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {"maxLocalDiskSize": 0.0}  # checked with localDisk

    chunk_size: Annotated[Int32, greater_than(0)] = 256
    """`chunk_size`: tokens per KV chunk."""
    local_cpu: bool = True
    """`local_cpu`: offload KV chunks to CPU memory."""
    max_local_cpu_size: Annotated[float, greater_than(0)] = Field(5.0, alias="maxLocalCpuSize")
    """`max_local_cpu_size`: the CPU buffer, in GB."""
    local_disk: (
        Annotated[
            str,
            Rule(
                lambda v: v.startswith(LOCAL_DISK_PREFIX) and v.endswith("/"),
                f"must be a folder as LMCache reads it: {LOCAL_DISK_PREFIX}<absolute path>/",
                pattern="file:///.*/",
            ),
        ]
        | None
    ) = None
    """`local_disk`: a folder for KV chunks on the node's disk (file:///mnt/lmcache/)."""
    max_local_disk_size: Gigabytes = 0.0
    """`max_local_disk_size`, in GB; the disk is used only with `localDisk` and a size above 0."""
    remote: RemoteSpec | None = None
    p2p: P2PSpec | None = Field(None, alias="p2p")
    cache_policy: Literal["LRU", "LFU", "FIFO", "MRU", "COST_AWARE"] = "LRU"
    """`cache_policy`: which chunks the local tiers evict first."""
    save_unfull_chunk: bool | None = None
    """`save_unfull_chunk`: also store the last, partial chunk (LMCache's default when unset)."""
    extra_config: dict[str, Any] | None = None
    """`extra_config`: free-form settings of LMCache's backends, passed as written."""
    settings: (
        dict[str, Annotated[Any, Rule(lambda v: v is not None, "must be set (leave the key out instead)")]] | None
    ) = None
    """Any other of LMCache's keys (`use_layerwise`, `enable_blending`, `pd_role`, `numa_mode`,
    ...), by LMCache's own name, written as given."""

    @field_validator("settings")
    @classmethod
    def _known(cls, settings: dict[str, Any] | None) -> dict[str, Any] | None:
        unknown = sorted(set(settings or ()) - OTHER_KEYS)
        if unknown:
            raise rule_error(
                f"{', '.join(unknown)}: not a key of LMCache's configuration that a typed field does not set "
                "(LMCache would drop it): use the field, or LMCache's exact key name"
            )
        return settings

    format: Literal["file", "env"] = "file"
    """How vLLM pods get it: `file` (a ConfigMap mounted, LMCACHE_CONFIG_FILE) or `env` (LMCACHE_*
    variables, as the LMCache Helm chart sets them)."""
    pod_selector: StringMap | None = None
    """Wire every pod template with these labels (besides those that name the config)."""

    @field_validator("max_local_disk_size")
    @classmethod
    def _disk(cls, size: float, info: ValidationInfo) -> float:
        if "local_disk" not in info.data:  # given, and wrong: reported at localDisk
            return size
        disk = info.data["local_disk"]
        if size > 0 and disk is None:
            raise rule_error("needs localDisk, the folder it sizes")
        if disk is not None and size == 0:
            raise rule_error("must be above 0 with localDisk set: LMCache uses no disk of size 0")
        return size


class LMCacheServerSpec(Model):
    image: ImageSpec = Field(default_factory=ImageSpec)
    """The image with `lmcache_server` (LMCache's vLLM image by default)."""
    port: AnyPort = 65432
    """The TCP port of the KV store (`lm://<name>:<port>`)."""
    device: Literal["cpu"] = "cpu"
    """Where the server keeps chunks; `lmcache_server` supports `cpu` only."""
    split_cache: bool = False
    """Allow more than one replica: each keeps its own chunks, so one Service splits the cache."""
    replicas: Annotated[Int32, at_least(1)] = 1
    resources: Resources | None = None
    """Unset: the LMCache documentation's requests, 4 CPUs and 10Gi."""
    node_selector: StringMap | None = None
    tolerations: Tolerations | None = None
    env: EnvVars | None = None
    pod_labels: StringMap | None = None
    pod_annotations: StringMap | None = None
    priority_class_name: str = ""

    @field_validator("replicas")
    @classmethod
    def _one_store(cls, replicas: int, info: ValidationInfo) -> int:
        if replicas > 1 and not info.data.get("split_cache"):
            raise rule_error(
                "above 1 splits the cache: each lmcache_server keeps its own chunks and one Service balances "
                "between them (there is no replication); set splitCache: true if that is intended"
            )
        return replicas
