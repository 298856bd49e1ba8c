"""Energy sources (hardware counters first, models as labelled fallback) and the shared sampler."""
