"""Published baseline 'xgboost' (see images/baselines/airlock_baselines)."""

from airlock_baselines import Baseline
from airlock_sdk import serve

if __name__ == "__main__":
    serve(Baseline("xgboost"), name="baseline-xgboost")
