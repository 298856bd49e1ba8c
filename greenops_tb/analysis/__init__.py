"""Pure analysis of recorded runs: summaries, ranges, what-if, forecasts, DataFrames (no TensorBoard import)."""
