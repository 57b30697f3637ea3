"""Text in, typed inputs out: YAML with lines and limits, documents as resources and manifests (no disk)."""
