"""Kubernetes knowledge: the 1.33 schema of embedded shapes, kinds as kustomize sees them, API-server checks."""
