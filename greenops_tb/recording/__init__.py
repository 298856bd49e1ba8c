"""Recording: stages, their accounting and options, watched values, model hooks, resumed runs, live totals."""
