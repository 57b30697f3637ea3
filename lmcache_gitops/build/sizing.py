"""Resource math (operator-spec §c) and the startup probe that grows with the cache (compat row 5)."""

from __future__ import annotations

import math
from typing import Any

ENGINE_CPU_REQUEST = "4"
MIN_STARTUP_FAILURES = 30


def memory_gi(size_gb: float) -> tuple[int, int]:
    """(request, limit) in whole Gi: ceil(sizeGB + 5), then ceil(request * 1.5), in float64 as Go."""
    request = math.ceil(size_gb + 5)
    return request, math.ceil(request * 1.5)


def engine_resources(size_gb: float, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Overrides replace the computation whole (nothing is merged); no CPU limit, no GPU request."""
    if overrides is not None:
        return overrides
    request, limit = memory_gi(size_gb)
    return {
        "limits": {"memory": f"{limit}Gi"},
        "requests": {"cpu": ENGINE_CPU_REQUEST, "memory": f"{request}Gi"},
    }


def startup_failure_threshold(size_gb: float) -> int:
    """One 5-second probe per whole 5 GB of cache to pin, and at least 30 (operator-spec §d.2
    [F-startup]). The operator makes sizeGB / 5 an integer with Go's int32(), which truncates
    (compat row 5): 157 GB gives 31, not 32."""
    return max(MIN_STARTUP_FAILURES, int(size_gb / 5))


INT32_MAX = 2**31 - 1
MAX_MEMORY_GI = (2**63 - 1) >> 30  # the API server holds a quantity of bytes in an int64


def size_problem(size_gb: float, overrides: dict[str, Any] | None) -> str | None:
    """Why an l1.sizeGB makes numbers the API server cannot store, or None."""
    if startup_failure_threshold(size_gb) > INT32_MAX:
        return (
            f"must be less than {(INT32_MAX + 1) * 5}: the startup probe's failureThreshold (sizeGB / 5) "
            "is a 32-bit integer"
        )
    if overrides is None and memory_gi(size_gb)[1] > MAX_MEMORY_GI:
        return (
            "is too large: its memory limit, 1.5 * (sizeGB + 5) Gi, would not fit in the API server's 64-bit byte count"
        )
    return None
