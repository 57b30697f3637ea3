"""Numbers and JSON formatted exactly as the operator's Go code formats them.

Python and Go disagree on the details (``30.0`` against ``30``, ``1e-07`` against ``1e-7``, HTML
escaping), so every number and every embedded JSON document goes through these functions.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

# encoding/json escapes these so the output is safe inside HTML; the operator's JSON carries them.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, never an exponent."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fixed(value: float, decimals: int) -> str:
    """``fmt.Sprintf("%.Nf", v)``; both languages round the exact binary value the same way."""
    return f"{value:.{decimals}f}"


def _json_float(value: float) -> str:
    # encoding/json floatEncoder: 'f' format, switching to 'e' outside [1e-6, 1e21).
    if not math.isfinite(value):
        raise ValueError(f"JSON cannot hold {value}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return repr(float(value)).replace("e-0", "e-")  # Go cleans e-07 up to e-7, keeps e+21
    return format_float(value)


def _encode(value: Any, indent: str | None, level: int) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_GO_ESCAPES)
    if isinstance(value, dict):
        items = [
            f"{_encode(str(k), None, 0)}:{' ' if indent is not None else ''}{_encode(v, indent, level + 1)}"
            for k, v in sorted(value.items())
        ]
        return _wrap("{", "}", items, indent, level)
    if isinstance(value, (list, tuple)):
        return _wrap("[", "]", [_encode(v, indent, level + 1) for v in value], indent, level)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _wrap(open_: str, close: str, items: list[str], indent: str | None, level: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ",".join(items) + close
    inner = "\n" + indent * (level + 1)
    return open_ + inner + ("," + inner).join(items) + "\n" + indent * level + close


def marshal(value: Any) -> str:
    """``json.Marshal``: keys sorted, no spaces."""
    return _encode(value, None, 0)


def marshal_indent(value: Any) -> str:
    """``json.MarshalIndent(v, "", "  ")``: keys sorted, two-space indent, no trailing newline."""
    return _encode(value, "  ", 0)
