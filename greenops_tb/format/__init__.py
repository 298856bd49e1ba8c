"""The on-disk contract: the record schema, its CSV, JSON and TensorBoard encodings, the hash chain."""
