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
