"""The operator's custom resources, field for field, and the project file, as pydantic models."""

from .base import API_GROUP, API_VERSION
from .kinds import (
    KINDS,
    AnyResource,
    CacheBlendEngine,
    CacheBlendEngineSpec,
    EngineResource,
    LMCacheCoordinator,
    LMCacheCoordinatorSpec,
    LMCacheEngine,
    LMCacheEngineSpec,
    VllmRouter,
    VllmRouterSpec,
)
from .shared import EngineSpecBase

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "KINDS",
    "AnyResource",
    "CacheBlendEngine",
    "CacheBlendEngineSpec",
    "EngineResource",
    "EngineSpecBase",
    "LMCacheCoordinator",
    "LMCacheCoordinatorSpec",
    "LMCacheEngine",
    "LMCacheEngineSpec",
    "VllmRouter",
    "VllmRouterSpec",
]
