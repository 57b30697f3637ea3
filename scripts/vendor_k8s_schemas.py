"""Vendor the Kubernetes 1.33 definitions that inputs embed (containers, volumes, affinity, ...).

Run after bumping kubernetes-validate: python scripts/vendor_k8s_schemas.py
Writes lmcache_gitops/k8s/k8s-1.33.json: the closure of VENDORED_ROOTS, descriptions stripped.
"""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate

from lmcache_gitops.k8s.schema import K8S_VERSION, VENDORED_ROOTS

VERSION = f"{K8S_VERSION}.0"
# Kept: what validation and strategic-merge patches need. Dropped: prose and OpenAPI extras.
KEEP = {
    "type", "properties", "required", "additionalProperties", "items", "oneOf", "format",
    "enum", "$ref", "x-kubernetes-list-map-keys", "x-kubernetes-patch-merge-key",
}  # fmt: skip


def main() -> None:
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    defs = json.loads((folder / f"v{VERSION}-local-strict" / "_definitions.json").read_text())["$defs"]
    closure: dict[str, object] = {}

    def strip(schema: object) -> object:
        if isinstance(schema, list):
            return [strip(item) for item in schema]
        if not isinstance(schema, dict):
            return schema
        out = {}
        for key, value in schema.items():
            if key == "properties":
                out[key] = {name: strip(sub) for name, sub in value.items()}
            elif key == "$ref":
                name = value.rsplit("/", 1)[-1]
                visit(name)
                out[key] = name
            elif key in KEEP:
                out[key] = strip(value)
        return out

    def visit(name: str) -> None:
        if name not in closure:
            closure[name] = None
            closure[name] = strip(defs[name])

    for root in VENDORED_ROOTS:
        visit(root)
    target = Path(__file__).resolve().parents[1] / "lmcache_gitops" / "k8s" / f"k8s-{K8S_VERSION}.json"
    text = json.dumps(dict(sorted(closure.items())), sort_keys=True, separators=(",", ":"))
    target.write_text(text + "\n")
    print(f"{target}: {len(closure)} definitions, {len(text)} bytes")


if __name__ == "__main__":
    main()
