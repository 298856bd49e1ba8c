"""Sinks: where records go (TensorBoard events, CSV)."""
