"""Typed inputs -> objects: conditional defaults, the engine view, the object builders, whole-fleet checks."""
