"""``airlock bundle validate``: every problem in a bundle, one line each, never a traceback.

Two modes. The organizer's (default) checks everything, the sealed labels included: they are
read from the bundle's ``sealed/`` or from a directory given apart. The participant's
(``public``) checks a bundle as published, without its sealed labels: every public file, and
that the manifest commits to sealed labels for every fold; the sealed labels and the salt are
neither required nor looked for.
"""

from __future__ import annotations

from pathlib import Path

from runner.bundle import manifest
from runner.bundle.labels import parse_labels
from runner.bundle.load import FoldPaths, read_spec
from runner.bundle.problems import Problem
from runner.bundle.spec import BundleSpec, SplitKind
from runner.bundle.tables import Table, numeric_matrix, read_table


def validate_bundle(
    bundle_dir: Path, sealed_dir: Path | None = None, *, public: bool = False
) -> list[Problem]:
    """All problems of the bundle at ``bundle_dir`` (an empty list means it is valid).

    ``sealed_dir`` holds the sealed labels (default: the bundle's ``sealed/``), or one such
    directory per bundle id. With ``public`` the bundle is checked as participants get it:
    ``sealed_dir`` is ignored and no sealed label or salt is read, but every fold must have
    its commitment line.
    """
    if not bundle_dir.is_dir():
        return [Problem(bundle_dir, "not a directory")]
    sealed = sealed_dir if sealed_dir is not None else bundle_dir / manifest.SEALED_DIR_NAME
    manifest_path = bundle_dir / manifest.MANIFEST_NAME
    spec, problems = read_spec(bundle_dir)
    parsed, manifest_problems = manifest.parse_manifest(manifest_path)
    problems += manifest_problems
    if not manifest_problems:
        problems += manifest.verify_public(bundle_dir, parsed)
    if spec is None:
        return problems
    problems += _fold_directories(bundle_dir, spec)
    if sealed_dir is not None and (sealed_dir / spec.id).is_dir():
        sealed = sealed_dir / spec.id  # a directory of sealed directories, as `airlock run` takes
    check_sealed = not public
    if check_sealed and not sealed.is_dir():
        problems.append(
            Problem(
                sealed,
                "sealed labels directory is missing; organizers: give it with --sealed DIR; "
                "participants (bundle published without sealed/): validate with --public",
            )
        )
        check_sealed = False
    for fold_id in spec.folds:
        fold = FoldPaths(
            fold_id,
            bundle_dir / "folds" / fold_id / "train",
            bundle_dir / "folds" / fold_id / "test",
            sealed / fold_id / "y.csv",
        )
        problems += _validate_fold(spec, fold, sealed=check_sealed)
    if not manifest_problems:
        problems += _commitment_lines(manifest_path, parsed, spec.folds)
        if check_sealed:  # folds without a commitment line are reported just above
            committed = [f for f in spec.folds if f in parsed.commitments]
            problems += _sealed_commitments(sealed, parsed, committed)
    return problems


def _commitment_lines(path: Path, parsed: manifest.Manifest, folds: list[str]) -> list[Problem]:
    """Every fold, and only those, has a ``sealed:<fold>`` line (checkable without labels)."""
    problems = [
        Problem(
            path,
            f"manifest has no sealed commitment for fold {fold!r} "
            f"(expected a line '<sha256>  {manifest.SEALED_PREFIX}{fold}')",
        )
        for fold in folds
        if fold not in parsed.commitments
    ]
    problems += [
        Problem(path, f"sealed commitment for fold {fold!r}, which bundle.yaml does not declare")
        for fold in sorted(parsed.commitments.keys() - set(folds))
    ]
    return problems


def _fold_directories(bundle_dir: Path, spec: BundleSpec) -> list[Problem]:
    folds_dir = bundle_dir / "folds"
    if not folds_dir.is_dir():
        return [Problem(folds_dir, "missing; expected one sub-directory per fold")]
    declared = set(spec.folds)
    return [
        Problem(path, f"fold directory is not listed in bundle.yaml folds {spec.folds}")
        for path in sorted(folds_dir.iterdir())
        if path.name not in declared
    ]


def _sealed_commitments(sealed: Path, parsed: manifest.Manifest, folds: list[str]) -> list[Problem]:
    try:
        return manifest.verify_sealed(sealed, parsed, folds)
    except (OSError, ValueError) as exc:
        return [Problem(sealed / manifest.SALT_NAME, f"cannot check commitments: {exc}")]


def _validate_fold(spec: BundleSpec, fold: FoldPaths, *, sealed: bool) -> list[Problem]:
    problems: list[Problem] = []

    def read(path: Path) -> Table | None:
        table, found = read_table(path)
        problems.extend(found)
        return table

    train_x, train_y, train_meta = read(fold.train_x), read(fold.train_y), read(fold.train_meta)
    test_x, test_meta = read(fold.test_x), read(fold.test_meta)
    sealed_y = None  # stays None for a published bundle: no sealed labels to check
    if sealed and fold.sealed_labels.is_file():
        sealed_y = read(fold.sealed_labels)
    elif sealed:
        problems.append(Problem(fold.sealed_labels, f"sealed labels of fold {fold.id!r} missing"))

    for table in (train_x, test_x):
        if table is not None:
            problems += numeric_matrix(table)[1]
    for table in (train_y, sealed_y):
        if table is not None:
            problems += parse_labels(table, spec)[1]
    for reference, others in ((train_x, (train_y, train_meta)), (test_x, (test_meta,))):
        for other in others:
            if reference is not None and other is not None:
                problems += _same_ids(reference, other)
    if train_x is not None and test_x is not None:
        if train_x.columns != test_x.columns:
            problems.append(_column_mismatch(train_x, test_x))
        leaked = sorted(set(train_x.ids) & set(test_x.ids))
        if leaked:
            problems.append(
                Problem(test_x.path, f"{len(leaked)} test ids are also training ids: {leaked[:5]}")
            )
    if train_meta is not None and test_meta is not None:
        if train_meta.columns != test_meta.columns:
            problems.append(_column_mismatch(train_meta, test_meta))
        problems += _group_split(spec, train_meta, test_meta)
    if test_x is not None and sealed_y is not None:
        problems += _sealed_matches_test(sealed_y, test_x)
    return problems


def _same_ids(reference: Table, other: Table) -> list[Problem]:
    """``other`` must list exactly the ids of ``reference``, in the same order."""
    for position, (mine, theirs) in enumerate(zip(reference.ids, other.ids, strict=False)):
        if mine != theirs:
            return [
                Problem(
                    other.path,
                    f"sample id {theirs!r} where {reference.path.name} has {mine!r} "
                    "(ids must match row by row)",
                    other.lines[position],
                    other.id_column,
                )
            ]
    if len(reference.ids) != len(other.ids):
        return [
            Problem(
                other.path,
                f"has {len(other.ids)} rows, {reference.path.name} has {len(reference.ids)}",
            )
        ]
    return []


def _column_mismatch(train: Table, test: Table) -> Problem:
    missing = [c for c in train.columns if c not in test.columns]
    extra = [c for c in test.columns if c not in train.columns]
    if missing or extra:
        detail = f"missing {missing[:5]}, unexpected {extra[:5]}"
    else:
        detail = "same names in a different order"
    return Problem(test.path, f"columns differ from {train.path}: {detail}", 1)


def _group_split(spec: BundleSpec, train_meta: Table, test_meta: Table) -> list[Problem]:
    group = spec.split.group
    if group is None:
        return []
    if group not in train_meta.columns:
        return [Problem(train_meta.path, f"split group column {group!r} is missing", 1, group)]
    if group not in test_meta.columns or spec.split.kind is not SplitKind.LEAVE_ONE_GROUP_OUT:
        return []
    shared = sorted(set(train_meta.column(group)) & set(test_meta.column(group)))
    if shared:
        return [
            Problem(
                test_meta.path,
                f"leave-one-group-out fold has group(s) {shared[:5]} in both train and test",
                column=group,
            )
        ]
    return []


def _sealed_matches_test(sealed: Table, test_x: Table) -> list[Problem]:
    expected, found = set(test_x.ids), set(sealed.ids)
    problems = []
    missing = sorted(expected - found)
    extra = sorted(found - expected)
    if missing:
        problems.append(
            Problem(sealed.path, f"{len(missing)} test ids have no sealed label: {missing[:5]}")
        )
    if extra:
        problems.append(
            Problem(sealed.path, f"{len(extra)} sealed ids are not test ids: {extra[:5]}")
        )
    return problems
