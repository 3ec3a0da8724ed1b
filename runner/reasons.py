"""Public reasons: the fixed sentences a sealed result may say about a failed fold.

A public reason is one of the templates below, filled only with values the runner chose: a
phase name, a limit of the bundle, a batch number the runner sent, a count the bundle
fixes, or a name the protocol itself defines. Nothing a submission wrote, and no quantity
it controls (its exit code, its timings, how many ids it got wrong), can appear in one, so
a public reason carries at most log2(number of templates x phases) bits. Full reasons for
dry runs say more and quote the submission through :func:`runner.untrusted.shown`.
"""

from __future__ import annotations

import string
from typing import Final

PHASES: Final = ("startup", "handshake", "fit", "predict", "probe", "shutdown")
"""``probe``: the robustness probes after the clean predict; a failure there is the probe's,
never the fold's (docs/robustness.md)."""
MESSAGE_TYPES: Final = ("ready", "fitted", "predictions", "error")
MESSAGE_FIELDS: Final = ("type", "protocol", "name", "batch", "ids", "proba", "labels", "message")

TEMPLATES: Final[dict[str, str]] = {
    # time and memory
    "timeout": "{phase} phase exceeded its {limit} s limit",
    "timeout_stdin": "{phase} phase exceeded its {limit} s limit "
    "(the submission stopped reading stdin)",
    "oom": "killed for using more than {memory} of memory during {phase}",
    "oom_unphased": "killed for using more than {memory} of memory",
    # how the process ended
    "reported_error": "the submission reported an error during {phase} (message withheld)",
    "reported_invalid_predictions": "the submission reported that its predictions during "
    "{phase} do not fit the task (message withheld)",
    "exit_nonzero": "exited with a non-zero exit code during {phase}",
    "exit_signal": "killed by a signal during {phase}",
    "exit_unknown": "exited with an unknown exit code during {phase}",
    "exit_zero_early": "exited with code 0 during {phase} before completing it",
    "stdout_closed_running": "closed stdout during {phase} but kept running; killed by the runner",
    "stdin_closed": "the submission closed its input during {phase}",
    "stdout_closed": "stdout closed during {phase}",
    # what stdout carried
    "not_json": "stdout line is not JSON (during {phase})",
    "too_deep": "stdout line nests deeper than {depth} levels (during {phase})",
    "too_many_values": "stdout line holds more values than a {expected} message needs "
    "(during {phase})",
    "long_integer": "stdout line holds an integer longer than {digits} digits (during {phase})",
    "not_object": "expected a JSON object with a 'type' field (during {phase})",
    "unknown_type": "message type is not one of ready, fitted, predictions, error (during {phase})",
    "invalid_field": "invalid '{kind}' message at field '{field}' (during {phase})",
    "invalid_message": "invalid '{kind}' message (during {phase})",
    "line_too_long": "stdout line longer than the {limit}-byte limit of a {expected} message "
    "during {phase}",
    "unrequested_stdout": "more than {limit} bytes on stdout without being asked during {phase}",
    "wrong_message": "expected a '{expected}' message during {phase}, got '{kind}'",
    "wrong_batch": "predictions answer the wrong batch (expected batch {batch})",
    "protocol_version": "submission speaks another protocol version; the runner speaks {version}",
    # what the predictions held
    "mixed_fields": "some batches send proba and others labels; send the same fields in all",
    "no_fields": "a batch has neither 'proba' nor 'labels'",
    "proba_count": "a batch has a different number of ids and proba values",
    "labels_count": "a batch has a different number of ids and labels",
    "binary_lists": "binary proba must be one number per id (the positive class's probability), "
    "got lists",
    "row_width": "a row has the wrong number of probabilities (expected {width}, one per {output})",
    "multilabel_row": "a row is not {width} labels of 0 or 1 (one per label)",
    "not_finite": "some ids have NaN or infinite probabilities",
    "out_of_range": "some ids have probabilities outside [0, 1]",
    "unknown_class": "some ids have labels that are not one of the task's classes",
    "duplicate_ids": "some ids were predicted more than once",
    "missing_ids": "some of the {n_test} test ids have no prediction",
    "extra_ids": "some predicted ids are not test ids",
    # robustness probes (the fold's own status is the clean part's)
    "probe_not_run": "not run: an earlier probe of this fold failed",
}

_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "phase": PHASES,
    "kind": MESSAGE_TYPES,
    "expected": (*MESSAGE_TYPES, "control"),
    "field": MESSAGE_FIELDS,
    "output": ("class", "label"),
}
_NUMBERS: Final = ("limit", "memory", "depth", "digits", "batch", "version", "width", "n_test")


def public(template_name: str, /, **values: object) -> str:
    """The public reason ``template_name`` filled with runner-chosen ``values``.

    Raises:
        ValueError: for an unknown template, a missing or unexpected value, a name outside
            its closed set, or a value of the wrong type: a bug in the caller, caught by tests.
    """
    template = TEMPLATES[template_name]
    wanted = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if set(values) != wanted:
        raise ValueError(f"template {template_name!r} takes {sorted(wanted)}, got {sorted(values)}")
    for name, value in values.items():
        if name in _CHOICES:
            if value not in _CHOICES[name]:
                raise ValueError(f"{name}={value!r} is not one of {_CHOICES[name]}")
        elif name in _NUMBERS:
            if not isinstance(value, int | float | str) or (
                isinstance(value, str) and not _is_runner_quantity(value)
            ):
                raise ValueError(f"{name}={value!r} is not a runner-chosen quantity")
        else:
            raise ValueError(f"template value {name!r} has no rule")
    return template.format(**values)


def _is_runner_quantity(text: str) -> bool:
    """Pre-formatted quantities such as ``256 MiB`` or ``15`` (or "its limit")."""
    if text == "its limit":
        return True
    number, _, unit = text.partition(" ")
    return unit in ("", "MiB", "GiB") and number.replace(".", "", 1).isdigit()


def matches_a_template(reason: str) -> bool:
    """True when ``reason`` is some template filled with admissible values (for tests and
    for the last check before a sealed result is written)."""
    import re

    for template in TEMPLATES.values():
        pattern = re.escape(template)
        for name in {n for _, n, _, _ in string.Formatter().parse(template) if n}:
            choices = _CHOICES.get(name)
            value = (
                "(?:" + "|".join(map(re.escape, choices)) + ")"
                if choices
                else r"(?:[0-9]+(?:\.[0-9]+)?(?: MiB| GiB)?|its limit)"
            )
            pattern = pattern.replace(re.escape("{" + name + "}"), value)
        if re.fullmatch(pattern, reason):
            return True
    return False
