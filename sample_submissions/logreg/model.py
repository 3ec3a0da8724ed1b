"""Logistic regression baseline: mean imputation, standard scaling and a class-weighted L2
logistic regression (C=1, lbfgs, seed 42), fitted on the training fold only; one model per
label for multilabel tasks. The published SpaceOmicsBench 'logreg' (see airlock_baselines)."""

from airlock_baselines import Baseline
from airlock_sdk import serve

if __name__ == "__main__":
    serve(Baseline("logreg"), name="logreg")
