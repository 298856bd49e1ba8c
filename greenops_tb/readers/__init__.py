"""Readers: records back from event files (through TensorBoard data providers) and CSV files."""
