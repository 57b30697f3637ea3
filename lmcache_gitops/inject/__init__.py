"""The operator's pod webhooks as pure functions, and the compile-time policy that wires workloads."""
