"""``airlock bundle new``: any tabular task (CSV files and a small YAML) as a bundle.

Three ways to give the samples:

* ``table:``, one CSV holding every column, with the roles of its columns named in the YAML
  (``label`` or ``labels``, ``group``, ``features``, ``meta``), and a ``split:`` to cut.
* ``data:`` tables (features, labels, optional meta) and a ``split:`` to cut.
* ``train:`` and ``test:`` tables: the split is given; one fold, ``holdout``.

A split to cut is leave-one-group-out (a meta column), k-fold or repeated holdout
(stratified for single-label tasks, seeded), or predefined folds from a CSV (``id,<fold>...``
with cells ``train``, ``test`` or empty).

Reading and checking the sources is pure logic and reports every problem as one line with
its file, line and column (an unknown YAML key with the nearest valid one); nothing is
written until the sources are clean.

The modules, in the order a plan is made: ``config`` (the YAML), ``samples`` (the
``data:``/``train:``/``test:`` tables) or ``one_table`` (the ``table:`` CSV), ``folds``
(cutting and checking), ``plan`` (the spec, samples and folds to write).
"""

from runner.bundle.new.config import CutSplit, NewBundleConfig, SourceTables, nearest, read_config
from runner.bundle.new.plan import HOLDOUT_FOLD, Plan, plan_bundle
from runner.bundle.problems import SourceProblems

__all__ = [
    "HOLDOUT_FOLD",
    "CutSplit",
    "NewBundleConfig",
    "Plan",
    "SourceProblems",
    "SourceTables",
    "nearest",
    "plan_bundle",
    "read_config",
]
