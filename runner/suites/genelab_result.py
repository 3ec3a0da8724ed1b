"""The result of scoring a valid GeneLab submission: the upstream evaluator's JSON (its keys
and layout) plus one ``airlock`` section, and the lines ``airlock score genelab`` prints.

The statistics are ``runner.scoring.genelab``'s; this module only lays them out. JSON has
no NaN: a CI with no usable bootstrap replicate is written as null.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from runner import __version__
from runner.scoring import genelab as stats
from runner.suites.genelab import Checked, Submission, TaskFolder, read_labels

CATEGORY_B_NOTE = "Category B (cross-mission pairs) has no GO/NO-GO; summary.go_nogo is null"


def evaluate(
    checked: Checked,
    *,
    n_bootstrap: int = stats.DEFAULT_N_BOOTSTRAP,
    n_perm: int = stats.DEFAULT_N_PERM,
    pooled_n_bootstrap: int | None = None,
) -> dict[str, Any]:
    """Score a valid submission; the upstream evaluator's JSON plus an ``airlock`` section."""
    task, submission = checked.task, checked.submission
    if task is None or submission is None or checked.problems:
        raise ValueError("evaluate() needs a submission that passed check_submission()")
    units, labels, scores = _unit_statistics(task, submission, n_bootstrap, n_perm)
    summary = stats.summarize(units, labels, scores, n_bootstrap, pooled_n_bootstrap)
    replicates = {
        "n_bootstrap": n_bootstrap,
        "n_perm": n_perm,
        "pooled_n_bootstrap": pooled_n_bootstrap if pooled_n_bootstrap is not None else n_bootstrap,
    }
    return {
        "task_id": task.task_id,
        "model_name": submission.model_name,
        "model_description": submission.model_description,
        "submission_date": submission.submission_date,
        "n_folds": len(units),
        "fold_results": [_fold_result(unit) for unit in units],
        "summary": _summary(summary, category_b=task.mode == "pair"),
        "thresholds": dict(stats.THRESHOLDS),
        "airlock": _airlock_section(task, submission, units, summary, replicates),
    }


def _unit_statistics(
    task: TaskFolder, submission: Submission, n_bootstrap: int, n_perm: int
) -> tuple[list[stats.UnitStats], np.ndarray, np.ndarray]:
    """Each required unit's statistics, and all their labels and scores concatenated."""
    units, all_labels, all_scores = [], [], []
    for unit in task.required:
        ids, labels = read_labels(task.path / unit)
        scores = np.array([float(submission.predictions[unit][i]) for i in ids])
        units.append(stats.unit_stats(unit, labels, scores, n_bootstrap, n_perm))
        all_labels.append(labels)
        all_scores.append(scores)
    return units, np.concatenate(all_labels), np.concatenate(all_scores)


def _fold_result(unit: stats.UnitStats) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fold": unit.name,
        "n_test": unit.n_test,
        "n_flight": unit.n_flight,
        "n_ground": unit.n_ground,
        "auroc": unit.auroc,
        "ci_lower": _finite(unit.ci_lower),
        "ci_upper": _finite(unit.ci_upper),
        "perm_p": unit.perm_p,
    }
    if unit.error:
        entry["error"] = unit.error
    return entry


def _summary(summary: stats.Summary, *, category_b: bool) -> dict[str, Any]:
    return {
        "mean_auroc": summary.mean_auroc,
        "std_auroc": summary.std_auroc,
        "mean_ci_lower": _finite(summary.mean_ci_lower),
        "overall_auroc_pooled": summary.overall_auroc_pooled,
        "overall_ci_lower": _finite(summary.overall_ci_lower),
        "overall_ci_upper": _finite(summary.overall_ci_upper),
        "mean_perm_p": summary.mean_perm_p,
        "go_nogo": None if category_b else summary.go_nogo,
    }


def _airlock_section(
    task: TaskFolder,
    submission: Submission,
    units: list[stats.UnitStats],
    summary: stats.Summary,
    replicates: dict[str, int],
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "runner_version": __version__,
        "task_dir": str(task.path),
        "mode": task.mode,
        **replicates,
        "seed": stats.SEED,
        "units": [
            {
                "fold": u.name,
                "status": "undefined" if u.auroc is None else "ok",
                "reason": u.error or "",
                "n_bootstrap_used": u.n_bootstrap_used,
            }
            for u in units
        ],
        "excluded_from_means": summary.excluded,
        "heldout_validated_not_scored": [u for u in task.heldout if u in submission.predictions],
    }
    if task.mode == "pair":
        section["transfer_pattern"] = stats.transfer_pattern(units)
        section["upstream_go_nogo"] = summary.go_nogo
        section["go_nogo_note"] = CATEGORY_B_NOTE
    return section


def _finite(value: float | None) -> float | None:
    """NaN (no usable bootstrap replicate) is written as null: JSON has no NaN."""
    return None if value is None or math.isnan(value) else value


def summary_lines(result: dict[str, Any]) -> list[str]:
    """What ``airlock score genelab`` prints on stderr: one line per unit, the means, and
    the GO/NO-GO verdict (Category A) or the transfer pattern (Category B)."""
    lines = [
        f"  {unit['fold']:<28} n={unit['n_test']:<4} AUROC {_fmt(unit['auroc'])} "
        f"[{_fmt(unit['ci_lower'])}, {_fmt(unit['ci_upper'])}]  p={_fmt(unit['perm_p'])}"
        + (f"  ({unit['error']})" if "error" in unit else "")
        for unit in result["fold_results"]
    ]
    summary = result["summary"]
    lines.append(
        f"  mean AUROC {_fmt(summary['mean_auroc'])} ± {_fmt(summary['std_auroc'])}, mean CI lower "
        f"{_fmt(summary['mean_ci_lower'])}, mean p {_fmt(summary['mean_perm_p'])}"
    )
    pattern = result["airlock"].get("transfer_pattern")
    if pattern is None:
        lines.append(f"  {'GO' if summary['go_nogo'] else 'NO-GO'}")
        return lines
    lines.append(
        f"  transfer: {pattern['n_auroc_ge_0_70']}/{pattern['n_pairs']} pairs AUROC >= 0.70, "
        f"{pattern['n_p_lt_0_05']} with p < 0.05; "
        f"{pattern['n_large_pairs']} large pairs (n >= 10), "
        f"mean AUROC {_fmt(pattern['large_pairs_mean_auroc'])}, "
        f"{pattern['n_large_pairs_p_lt_0_05']} with p < 0.05 "
        "(no GO/NO-GO for Category B)"
    )
    return lines


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
