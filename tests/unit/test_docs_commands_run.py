"""Commands the docs tell organizers to run must not fail by design: the baseline command
names a submission image, not the library image the baselines are built on."""

from __future__ import annotations

import re

from tests.helpers import REPO


def test_no_doc_runs_the_baselines_library_image_as_a_submission() -> None:
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text()
        for match in re.finditer(r"airlock run[^`\n]*(?:\n[^`\n]*)?", text):
            assert not re.search(r"--image\s+airlock/baselines\b", match.group()), (
                f"{page.name}: {match.group()!r}: airlock/baselines is not a submission"
            )


def test_every_sample_image_the_docs_name_has_a_sample_submission() -> None:
    samples = {p.name for p in (REPO / "sample_submissions").iterdir() if p.is_dir()}
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for name in re.findall(r"airlock/sample-([a-z-]+)", page.read_text()):
            assert name in samples, (
                f"{page.name} names airlock/sample-{name}, which no sample builds"
            )
