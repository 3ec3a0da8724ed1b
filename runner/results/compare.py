"""Submissions side by side (``airlock results table``): one row per bundle and primary
metric, one column per submission (team and image), each cell the submission's latest result
on the bundle. Pure: the command reads the store and prints."""

from __future__ import annotations

from dataclasses import dataclass

from runner.results.model import SubmissionResult

Submission = tuple[str, str]
"""(team, image reference)."""


def submission_of(result: SubmissionResult) -> Submission:
    """(team, image) of a result; results of Airlock 0.1 without a team count as the image's."""
    image = result.provenance.image_ref
    return result.provenance.team or image, image


@dataclass(frozen=True)
class Comparison:
    """The grid of :func:`compare`."""

    columns: list[Submission]
    rows: list[tuple[str, str]]
    """(bundle id, primary metric), sorted."""
    latest: dict[tuple[str, str, str], SubmissionResult]
    """(team, image, bundle id) -> the latest result."""
    older: int
    """Results not shown: a later one of the same submission and bundle replaced them."""

    def cell(self, bundle_id: str, metric: str, column: Submission) -> SubmissionResult | None:
        """The result in a cell, if its submission ran the bundle with that metric."""
        entry = self.latest.get((*column, bundle_id))
        return entry if entry is not None and entry.primary_metric == metric else None

    @property
    def probed(self) -> list[Submission]:
        """The submissions with robustness probes in some shown result: each gets a
        robustness column beside its own."""
        return [
            column
            for column in self.columns
            if any(
                result.statistics.robustness is not None
                for key, result in self.latest.items()
                if key[:2] == column
            )
        ]


def compare(results: list[SubmissionResult]) -> Comparison:
    """Every submission's latest result on every bundle it ran."""
    latest: dict[tuple[str, str, str], SubmissionResult] = {}
    for result in sorted(results, key=lambda r: r.provenance.finished_at):
        latest[(*submission_of(result), result.provenance.bundle_id)] = result
    return Comparison(
        columns=sorted({submission_of(r) for r in results}),
        rows=sorted({(r.provenance.bundle_id, r.primary_metric) for r in results}),
        latest=latest,
        older=len(results) - len(latest),
    )
