"""Inference benches: energy per request of model variants side by side (:class:`InferenceBench`)."""
from __future__ import annotations

from greenops_tb.inference.bench import InferenceBench as InferenceBench

__all__ = ["InferenceBench"]
