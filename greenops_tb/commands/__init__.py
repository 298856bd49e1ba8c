"""Sub-commands of ``greenops-tb`` (see greenops_tb.cli)."""
