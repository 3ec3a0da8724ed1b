"""docs/baselines.md: published baseline numbers next to what Airlock measured through
containers, per task (and per fold for GeneLab), for both SpaceOmicsBench variants."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from runner.results.model import SubmissionResult
from runner.suites.spaceomicsbench.importer import VERSION

# LogReg under the corrected contract, as measured by the spec's authors (its F4/F5/G1 sections).
SPEC_CORRECTED = {("logreg", "F4"): 0.3992, ("logreg", "F5"): 0.3591, ("logreg", "G1"): 0.4171}
GENELAB_MODEL_KEYS = {"pca-lr": "pca_lr"}


def model_kind(result: SubmissionResult) -> str:
    """The baseline a result came from: the name it sent in ``ready``, else its image tag."""
    names = {f.submission_name for f in result.folds if f.submission_name}
    if names:
        return names.pop().removeprefix("baseline-")
    return result.provenance.image_ref.rsplit("/", 1)[-1].split(":")[0].removeprefix("sample-")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _delta(mine: float | None, theirs: float | None) -> str:
    if mine is None or theirs is None:
        return "-"
    difference = round(mine - theirs, 4)
    return "0.0000" if difference == 0 else f"{difference:+.4f}"


def _spaceomics(results: list[SubmissionResult], source: Path) -> list[str]:
    published = json.loads((source / "baselines" / "baseline_results.json").read_text())
    table: dict[tuple[str, str], dict[str, SubmissionResult]] = defaultdict(dict)
    for result in results:
        benchmark = result.provenance.bundle_id
        if not benchmark.startswith("spaceomicsbench-"):
            continue
        task, _, variant = benchmark.removeprefix(VERSION + "-").partition("@")
        table[(model_kind(result), task)][variant] = result
    lines = []
    for kind in sorted({k for k, _ in table}):
        lines += [
            f"### SpaceOmicsBench — {kind}",
            "",
            "| task | primary metric | published | Airlock as-published | Δ "
            "| Airlock corrected | corrected (spec) |",
            "|---|---|---|---|---|---|---|",
        ]
        for (model, task), variants in sorted(table.items()):
            if model != kind:
                continue
            key = f"multilabel_{kind}" if task == "B2" else kind
            any_result = next(iter(variants.values()))
            metric = any_result.primary_metric
            reference = published.get(task, {}).get(key, {}).get(metric, {}).get("mean")
            as_published = variants.get("as-published")
            corrected = variants.get("corrected")
            mine = as_published.aggregate.mean if as_published else None
            lines.append(
                f"| {task} | {metric} | {_fmt(reference)} | {_fmt(mine)} "
                f"| {_delta(mine, reference)} | "
                f"{_fmt(corrected.aggregate.mean if corrected else None)} | "
                f"{_fmt(SPEC_CORRECTED.get((kind, task)))} |"
            )
        lines.append("")
    return lines


def _genelab(results: list[SubmissionResult], source: Path) -> list[str]:
    lines = []
    for result in sorted(results, key=lambda r: r.provenance.bundle_id):
        bundle = result.provenance.bundle_id
        if not bundle.startswith("genelab-"):
            continue
        kind = model_kind(result)
        task, database = bundle.split("-")[1], bundle.rsplit("-", 1)[-1]
        reference: dict[str, float] = {}
        results_file = source / "evaluation" / f"{task}_pathway_{database}_results.json"
        if task.startswith("A") and results_file.is_file() and kind in GENELAB_MODEL_KEYS:
            folds = json.loads(results_file.read_text())[GENELAB_MODEL_KEYS[kind]]["folds"]
            reference = {f["test_mission"]: f["auroc"] for f in folds}
        stats = result.statistics.genelab
        lines += [
            f"### GeneLab {task} ({database}) — {kind}",
            "",
            "| fold | n test | published AUROC | Airlock AUROC | Δ | CI (Airlock) | perm p |",
            "|---|---|---|---|---|---|---|",
        ]
        for fold in result.folds:
            value = fold.metrics.get("auroc")
            ci = fold.statistics
            ci_text = f"[{_fmt(ci.auroc_ci_lower)}, {_fmt(ci.auroc_ci_upper)}]" if ci else "-"
            lines.append(
                f"| {fold.fold_id} | {fold.n_test} | {_fmt(reference.get(fold.fold_id))} "
                f"| {_fmt(value)} | {_delta(value, reference.get(fold.fold_id))} | {ci_text} "
                f"| {_fmt(ci.perm_p if ci else None)} |"
            )
        if stats is not None:
            verdict = (
                f"GO/NO-GO: {'GO' if stats.go_nogo else 'NO-GO'}"
                if stats.go_nogo is not None
                else "no GO/NO-GO (Category B)"
            )
            lines += [
                "",
                f"Mean AUROC {_fmt(stats.mean_auroc)}, mean CI lower {_fmt(stats.mean_ci_lower)}, "
                f"mean p {_fmt(stats.mean_perm_p)}; {verdict}.",
            ]
        lines.append("")
    return lines


def baselines_markdown(
    results: list[SubmissionResult], spaceomics_source: Path | None, genelab_source: Path | None
) -> str:
    images = sorted(
        {
            (r.provenance.image_ref, r.provenance.image_labels.get("io.airlock.versions", ""))
            for r in results
        }
    )
    lines = [
        "# Baselines through Airlock",
        "",
        "Published baseline numbers next to what the same models score when run by Airlock in",
        "sealed containers on the imported bundles (`airlock results baselines` writes this page;",
        "see docs/benchmarks.md for the variants). Values are means over folds of the primary",
        "metric (SpaceOmicsBench) or per-fold AUROC (GeneLab).",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d} from {len(results)} results; images:",
        "",
        *[f"- `{ref}`: {versions or 'libraries not recorded'}" for ref, versions in images],
        "",
    ]
    if spaceomics_source is not None:
        lines += ["## SpaceOmicsBench v2.1", "", *_spaceomics(results, spaceomics_source)]
    if genelab_source is not None:
        lines += ["## GeneLab benchmark, pathway level", "", *_genelab(results, genelab_source)]
    return "\n".join(lines).rstrip() + "\n"
