"""Every timeout, byte cap and container default, in one place.

Bundles set the per-task limits (time per phase, memory, CPUs, GPUs); what is here are the
runner's own bounds: they keep a hostile submission from making the runner itself buffer,
wait or store without limit. Change them here, never inline.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB

# Protocol
PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 16 * MiB
"""Longest single JSON line either side may send. Longer stdout lines are a protocol error."""
PREDICT_BATCH_BYTES: Final = 4 * MiB
"""Target size of one ``predict`` message; the test set is split into batches below it."""
QUOTE_BYTES: Final = 120
"""How many offending stdout bytes an error message quotes."""
QUOTE_CHARS: Final = 120
"""Longest quotation of submission text (after escaping) in a dry-run reason."""
QUOTE_ID_CHARS: Final = 40
"""Longest quotation of one id the submission sent, in a dry-run reason."""
REASON_CHARS: Final = 600
"""Longest reason (or note) a result holds; anything longer is cut and says so."""
MAX_CONTROL_MESSAGE_BYTES: Final = 64 * KiB
"""Longest ``ready``, ``fitted`` or ``error`` line: they carry a few fields, never data."""
REPLY_BYTES_PER_VALUE: Final = 64
"""Room per expected probability or label in a ``predictions`` line (a float needs <= 24)."""
MAX_JSON_DEPTH: Final = 8
"""Deepest nesting of arrays and objects in an incoming line (predictions need 3)."""
MAX_INT_DIGITS: Final = 20
"""Longest integer literal in an incoming line (a batch number or a 0/1 label)."""
MAX_EXTRA_VALUES: Final = 4096
"""JSON values an incoming line may hold beyond what its message needs (own fields)."""

# Phases (the bundle gives fit/predict; these are runner-side defaults and bounds)
DEFAULT_HANDSHAKE_SECONDS: Final = 30.0
DEFAULT_FIT_SECONDS: Final = 600.0
DEFAULT_PREDICT_SECONDS: Final = 300.0
SHUTDOWN_GRACE_SECONDS: Final = 5.0
"""After ``shutdown`` the container has this long to exit before it is killed."""
POLL_SECONDS: Final = 0.2
"""Longest a blocking wait goes without checking for cancellation."""
RESOURCE_SAMPLE_SECONDS: Final = 0.1
"""Interval of the background sampler of container CPU and memory."""

# Logs (container stderr)
LOG_CAPTURE_BYTES: Final = 1 * MiB
"""Stderr kept per fold for the log file: the first half and the last half of this budget."""
LOG_TAIL_LINES: Final = 20
"""Stderr lines shown to the participant for a failed fold in a dry run."""

# Container defaults
CONTAINER_USER: Final = "10001:10001"
"""Every submission runs as this unprivileged uid:gid whatever its image says."""
TRAIN_MOUNT: Final = "/airlock/train"
"""Where the fold's training directory appears, read-only, inside the container."""
TMPFS_PATH: Final = "/tmp"  # noqa: S108 - a tmpfs inside the container, not on the host
TMPFS_BYTES: Final = 256 * MiB
PIDS_LIMIT: Final = 256
DEFAULT_MEMORY_BYTES: Final = 2 * GiB
DEFAULT_CPUS: Final = 1.0

# Labels put on every container, used to find and reap them
LABEL_MANAGED: Final = "io.airlock.managed"
LABEL_RUN: Final = "io.airlock.run"
LABEL_OWNER: Final = "io.airlock.owner"
LABEL_FOLD: Final = "io.airlock.fold"
LABEL_DEADLINE: Final = "io.airlock.deadline"
"""Unix time by which the container must be gone, whatever became of its runner."""
DEADLINE_MARGIN_SECONDS: Final = 120.0
"""Added to a fold's phase limits for its container's deadline (start-up, scoring, slack)."""


class AppliedLimits(BaseModel):
    """The limits a fold runs under: the bundle's, lowered where the run asked for less.

    The one limits type, from the bundle and the command line down to the container spec
    and the session's deadlines; results record it as provenance.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    handshake_seconds: float
    fit_seconds: float
    predict_seconds: float
    memory_bytes: int
    cpus: float
    gpus: int
    pids_limit: int = PIDS_LIMIT
    tmpfs_bytes: int = TMPFS_BYTES
    network: Literal["none"] = "none"
    read_only_root: bool = True
    user: str = CONTAINER_USER
    max_message_bytes: int = MAX_MESSAGE_BYTES
