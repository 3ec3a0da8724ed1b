"""The ``bundle.yaml`` model: what a task is and what a submission may use to solve it."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from runner import limits
from runner.probe_settings import ProbeLevels
from runner.task_types import TaskType, check_metric_names

BUNDLE_FORMAT = "airlock-bundle/1"

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": limits.KiB,
    "kb": 1000,
    "kib": limits.KiB,
    "m": limits.MiB,
    "mb": 1000**2,
    "mib": limits.MiB,
    "g": limits.GiB,
    "gb": 1000**3,
    "gib": limits.GiB,
}


def parse_bytes(value: str | int) -> int:
    """Parse a memory size such as ``512MiB``, ``2g`` or ``1073741824`` into bytes."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"size must be positive, got {value}")
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"expected a size such as 512MiB or 2GiB, got {value!r}")
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


class SplitKind(StrEnum):
    """How the folds were cut; recorded so results say what generalisation they measure."""

    LEAVE_ONE_GROUP_OUT = "leave-one-group-out"
    REPEATED_HOLDOUT = "repeated-holdout"
    KFOLD = "kfold"
    PREDEFINED = "predefined"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metrics(_Strict):
    """Which metrics are computed; the primary one ranks submissions."""

    primary: str
    secondary: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [self.primary, *(m for m in self.secondary if m != self.primary)]


class Split(_Strict):
    """How folds were made. ``group`` names the meta column held out, when there is one."""

    kind: SplitKind
    group: str | None = None
    description: str = ""


class TimeLimits(_Strict):
    """Wall-clock seconds per protocol phase; the container is killed when one runs out."""

    handshake_seconds: Annotated[float, Field(gt=0)] = limits.DEFAULT_HANDSHAKE_SECONDS
    fit_seconds: Annotated[float, Field(gt=0)] = limits.DEFAULT_FIT_SECONDS
    predict_seconds: Annotated[float, Field(gt=0)] = limits.DEFAULT_PREDICT_SECONDS


class Resources(_Strict):
    """The most a submission may use. A run may ask for less, never more."""

    memory: str | int = limits.DEFAULT_MEMORY_BYTES
    cpus: Annotated[float, Field(gt=0, le=256)] = limits.DEFAULT_CPUS
    gpus: Annotated[int, Field(ge=0, le=64)] = 0

    @field_validator("memory")
    @classmethod
    def _memory_is_a_size(cls, value: str | int) -> str | int:
        parse_bytes(value)
        return value

    @property
    def memory_bytes(self) -> int:
        return parse_bytes(self.memory)


class Isolation(_Strict):
    """How strongly the bundle's folds must be kept from the host (docs/security.md)."""

    runtime: Literal["runc", "runsc"] = Field(
        default="runc",
        description="runsc: run only under gVisor, whose user-space kernel stands between "
        "the submission and the host's (for controlled-access data); runc: any runtime.",
    )


class BenchmarkRef(_Strict):
    """The hosted benchmark task a bundle reproduces; results then carry its statistics."""

    suite: Literal["genelab", "spaceomicsbench"]
    task_id: str
    variant: str = Field(default="", description="e.g. 'corrected' or 'as-published'.")
    random_reference: float | None = Field(
        default=None, description="SpaceOmicsBench: the random baseline's mean primary metric."
    )

    @property
    def category_b(self) -> bool:
        """GeneLab cross-mission pair tasks (B*) have no GO/NO-GO."""
        return self.suite == "genelab" and self.task_id.startswith("B")

    def as_dict(self) -> dict[str, str]:
        """What results and the ``hello`` message say of it: suite, task id, variant."""
        return {"suite": self.suite, "task_id": self.task_id, "variant": self.variant}


class BundleSpec(_Strict):
    """Contents of ``bundle.yaml``."""

    format: Literal["airlock-bundle/1"] = "airlock-bundle/1"
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    title: str
    description: str = ""
    synthetic: bool = False
    source: str = Field(default="", description="Where the data came from (benchmark, commit).")
    source_files: dict[str, str] = Field(
        default_factory=dict, description="sha256 of every source file the bundle was built from."
    )
    task_type: TaskType
    classes: list[str] = Field(
        default_factory=list,
        description="Binary and multiclass: the label values, in the order used for probabilities.",
    )
    positive_class: str | None = Field(
        default=None, description="Binary only: the class whose probability is predicted."
    )
    labels: list[str] = Field(
        default_factory=list, description="Multilabel only: the label names (columns of y.csv)."
    )
    metrics: Metrics
    split: Split
    folds: Annotated[list[Annotated[str, Field(pattern=_ID_PATTERN)]], Field(min_length=1)]
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    resources: Resources = Field(default_factory=Resources)
    benchmark: BenchmarkRef | None = None
    probes: ProbeLevels | None = Field(
        default=None,
        description="Levels of the robustness probes, used when a run asks for them "
        "(airlock run --probes); docs/robustness.md.",
    )
    isolation: Isolation | None = Field(
        default=None,
        description="The container runtime the folds require (absent: any).",
    )

    @model_validator(mode="after")
    def _labels_fit_task_type(self) -> Self:
        if self.task_type is TaskType.MULTILABEL:
            if len(self.labels) < 1 or self.classes:
                raise ValueError(
                    "a multilabel task lists its label names in 'labels', not 'classes'"
                )
            _unique("labels", self.labels)
        else:
            need = 2 if self.task_type is TaskType.BINARY else 3
            if self.labels:
                raise ValueError(f"a {self.task_type} task lists 'classes', not 'labels'")
            if self.task_type is TaskType.BINARY and len(self.classes) != 2:
                raise ValueError(f"a binary task needs exactly 2 classes, got {len(self.classes)}")
            if len(self.classes) < need:
                raise ValueError(f"a multiclass task needs at least 3 classes, got {self.classes}")
            _unique("classes", self.classes)
        if self.task_type is TaskType.BINARY:
            if self.positive_class is None:
                raise ValueError("a binary task must name its positive_class")
            if self.positive_class not in self.classes:
                raise ValueError(
                    f"positive_class {self.positive_class!r} is not one of {self.classes}"
                )
        elif self.positive_class is not None:
            raise ValueError("positive_class is only for binary tasks")
        _unique("folds", self.folds)
        check_metric_names(self.task_type, self.metrics.all)
        if self.required_runtime == "runsc" and self.resources.gpus > 0:
            raise ValueError(
                "isolation.runtime runsc (gVisor) cannot give GPUs: set resources.gpus to 0"
            )
        return self

    @model_serializer(mode="wrap")
    def _without_unset_options(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A bundle without probe levels or an isolation requirement is written as it
        always was (no ``probes: null``), so its hash does not change."""
        data: dict[str, Any] = handler(self)
        for name in ("probes", "isolation"):
            if getattr(self, name) is None:
                data.pop(name, None)
        return data

    @property
    def required_runtime(self) -> str:
        """runsc when the bundle requires gVisor, else runc (any runtime will do)."""
        return self.isolation.runtime if self.isolation is not None else "runc"

    @property
    def outputs(self) -> list[str]:
        """Class names (single-label tasks) or label names (multilabel), in protocol order."""
        return self.labels if self.task_type is TaskType.MULTILABEL else self.classes


def _unique(field: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field} lists {value!r} twice")
        seen.add(value)
