"""Airlock: run a participant's model container against sealed benchmark data.

The flow, one module each: bundle (what the task is) -> sandbox (where the model runs)
-> protocol/session (how we talk to it) -> predictions and scoring (what it earned)
-> results (where the verdict is kept).
"""

__version__ = "0.1.0"
