"""The operator's custom resources, field for field, and the project file, as pydantic models."""

from .base import API_GROUP, API_VERSION
from .inprocess import OWN_API_VERSION, OWN_GROUP
from .kinds import (
    API_VERSIONS,
    KINDS,
    AnyResource,
    CacheBlendEngine,
    CacheBlendEngineSpec,
    EngineResource,
    LMCacheConfig,
    LMCacheCoordinator,
    LMCacheCoordinatorSpec,
    LMCacheEngine,
    LMCacheEngineSpec,
    LMCacheServer,
    VllmRouter,
    VllmRouterSpec,
)
from .shared import EngineSpecBase

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "API_VERSIONS",
    "KINDS",
    "OWN_API_VERSION",
    "OWN_GROUP",
    "AnyResource",
    "CacheBlendEngine",
    "CacheBlendEngineSpec",
    "EngineResource",
    "EngineSpecBase",
    "LMCacheConfig",
    "LMCacheCoordinator",
    "LMCacheCoordinatorSpec",
    "LMCacheEngine",
    "LMCacheEngineSpec",
    "LMCacheServer",
    "VllmRouter",
    "VllmRouterSpec",
]
