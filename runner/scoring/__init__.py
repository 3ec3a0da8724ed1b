"""Scoring: metric functions (pure numpy) and the per-fold scoring step."""
