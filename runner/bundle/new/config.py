"""The YAML of ``airlock bundle new``: its models, and reading it with one problem line per
mistake (its line in the file, and the nearest valid key for an unknown one).

Pure logic apart from reading the one file: the tables it names are read by
:mod:`runner.bundle.new.samples` and :mod:`runner.bundle.new.one_table`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from runner.bundle.problems import Problem, SourceProblems
from runner.bundle.spec import Isolation, Metrics, Resources, SplitKind, TimeLimits
from runner.task_types import TaskType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceTables(_Strict):
    """CSV files whose first column is the sample id (paths relative to the YAML)."""

    features: str
    labels: str
    meta: str | None = None
    label_column: str | None = Field(
        default=None, description="Single-label tasks: the label column (default: the only one)."
    )


class CutSplit(_Strict):
    """How to cut ``data`` into folds."""

    kind: SplitKind
    group: str | None = Field(default=None, description="leave-one-group-out: the meta column.")
    k: Annotated[int, Field(ge=2)] = 5
    repeats: Annotated[int, Field(ge=1)] = 5
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    seed: int = 0
    stratify: bool = True
    file: str | None = Field(default=None, description="predefined: id,<fold>... train/test.")
    description: str = ""

    @model_validator(mode="after")
    def _needs(self) -> CutSplit:
        if self.kind is SplitKind.PREDEFINED and not self.file:
            raise ValueError("split kind predefined needs 'file' (id,<fold>... train/test)")
        return self


class NewBundleConfig(_Strict):
    """The YAML of ``airlock bundle new``: bundle.yaml's task fields plus the sources."""

    id: str
    title: str
    description: str = ""
    source: str = ""
    synthetic: bool = False
    task_type: TaskType
    classes: list[str] | None = Field(
        default=None, description="Default: the label values found, sorted."
    )
    positive_class: str | None = None
    labels: list[str] | None = Field(
        default=None, description="Multilabel: default every label column."
    )
    metrics: Metrics
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    resources: Resources = Field(default_factory=Resources)
    isolation: Isolation | None = Field(
        default=None, description="runtime: runsc to require gVisor (docs/security.md)."
    )
    data: SourceTables | None = None
    split: CutSplit | None = None
    train: SourceTables | None = None
    test: SourceTables | None = None
    table: str | None = Field(
        default=None,
        description="One CSV holding every column: the sample id first, then features, "
        "label(s), group and meta columns, their roles named by the keys below.",
    )
    label: str | None = Field(default=None, description="table: the label column.")
    group: str | None = Field(
        default=None,
        description="table: the group column (given as meta; leave-one-group-out's default).",
    )
    features: list[str] | None = Field(
        default=None, description="table: the feature columns (default: every other numeric one)."
    )
    meta: list[str] | None = Field(
        default=None, description="table: text columns given to the submission as metadata."
    )

    @model_validator(mode="after")
    def _one_source_shape(self) -> NewBundleConfig:
        sources = [self.data is not None, self.table is not None, self.train is not None]
        given = self.train is not None and self.test is not None
        if sum(sources) != 1 or (self.data is None and self.table is None) != (self.split is None):
            raise ValueError(
                "give either 'data' and 'split', or 'train' and 'test', or 'table' and 'split'"
            )
        if self.train is not None and not given:
            raise ValueError("'train' needs 'test' (or give 'data' or 'table' and a 'split')")
        if self.table is None:
            named = [k for k in ("label", "group", "features", "meta") if getattr(self, k)]
            if named:
                raise ValueError(
                    f"{', '.join(map(repr, named))} name columns of 'table'; with several "
                    "files use label_column in data/train/test and split.group"
                )
        else:
            multilabel = self.task_type is TaskType.MULTILABEL
            if multilabel and (self.label or not self.labels):
                raise ValueError("a multilabel table names its label columns in 'labels: [...]'")
            if not multilabel and not self.label:
                raise ValueError(f"a {self.task_type} table names its label column in 'label'")
        split = self.split
        logo = split is not None and split.kind is SplitKind.LEAVE_ONE_GROUP_OUT
        if logo and not ((split.group if split else None) or self.group):
            raise ValueError(
                "split kind leave-one-group-out needs 'split.group' (a meta column)"
                + (" or 'group'" if self.table else "")
            )
        return self


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``SourceTables | None`` -> SourceTables)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def _keys_at(loc: Sequence[str | int]) -> list[str]:
    """The valid keys of the mapping at ``loc`` in the YAML (empty when unknown)."""
    model: type[BaseModel] = NewBundleConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        sub = _model_in(field.annotation) if field is not None else None
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def nearest(word: str, choices: Sequence[str]) -> str | None:
    """The choice a typo most likely meant: difflib's ratio, averaged with the ratio of the
    sorted letters so that swapped letters ('lable') count as close ('label', not 'table')."""

    def score(choice: str) -> float:
        ratio = difflib.SequenceMatcher(None, word, choice).ratio()
        swapped = difflib.SequenceMatcher(None, sorted(word), sorted(choice)).ratio()
        return (ratio + swapped) / 2

    best = max(choices, key=score, default=None)
    return best if best is not None and score(best) >= 0.6 else None


def _unknown_key(loc: Sequence[str | int]) -> str:
    *parent, key = loc
    dotted = ".".join(str(part) for part in loc)
    prefix = "".join(f"{part}." for part in parent if isinstance(part, str))
    valid = _keys_at(parent)
    guess = nearest(str(key), valid)
    if guess is not None:
        return f"unknown key {dotted!r} (did you mean {prefix + guess!r}?)"
    return f"unknown key {dotted!r}; valid keys here: {', '.join(valid)}"


def _key_lines(path: Path, text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every mapping key and list item in the YAML, by location."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                where = (*loc, str(key.value))
                lines[where] = key.start_mark.line + 1
                walk(value, where)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*loc, index)] = item.start_mark.line + 1
                walk(item, (*loc, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def read_config(path: Path) -> NewBundleConfig:
    """Parse the YAML; raise SourceProblems with one line per field error."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except OSError as exc:
        raise SourceProblems([Problem(path, f"cannot be read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise SourceProblems(
            [Problem(path, f"not valid YAML: {exc}".splitlines()[0], line)]
        ) from None
    if not isinstance(raw, dict):
        raise SourceProblems([Problem(path, "expected a mapping of bundle fields")])
    try:
        return NewBundleConfig.model_validate(raw)
    except ValidationError as exc:
        lines = _key_lines(path, text)
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = _unknown_key(loc)
            elif loc:
                message = f"{'.'.join(str(part) for part in loc)}: {message}"
            problems.append(Problem(path, message, line))
        raise SourceProblems(problems) from None
