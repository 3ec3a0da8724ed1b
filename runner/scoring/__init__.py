"""Scoring, with no I/O: metric functions (scikit-learn's where it has the benchmarks'
definition), the benchmarks' statistics and aggregates, and the per-fold scoring step."""
