"""Inference benches: energy per request of model variants side by side (:class:`InferenceBench`)."""
from __future__ import annotations

from greenops_tb.format.bench import Tolerance as Tolerance
from greenops_tb.inference.bench import InferenceBench as InferenceBench

__all__ = ["InferenceBench", "Tolerance"]
