"""Published baseline 'pca-lr' (see images/baselines/airlock_baselines)."""

from airlock_baselines import Baseline
from airlock_sdk import serve

if __name__ == "__main__":
    serve(Baseline("pca-lr"), name="baseline-pca-lr")
