"""Baselines: adopt onnxlint on a repository of legacy models and fail CI only on new findings.

`--write-baseline FILE` records today's findings by fingerprint (rule, graph path, node or tensor), per model
path; `--baseline FILE` then reports only findings not in it. A fixed finding simply disappears.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from onnxlint import __version__
from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import MiB, parse_json, read_text
from onnxlint.core.finding import Report

SCHEMA_VERSION = 1
# A fingerprint is ~50 bytes: this holds a million findings and parses in a few seconds.
MAX_BASELINE_BYTES = 32 * MiB


def document(reports: Iterable[Report]) -> dict:
    """The baseline file's content: {model path: sorted fingerprints} for every finding of every report."""
    models = {}
    for report in reports:
        if report.findings:
            models[_key(report.path)] = sorted(f.fingerprint for f in report.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "onnxlint", "version": __version__},
        "models": dict(sorted(models.items())),
    }


def write(reports: Iterable[Report], stream) -> None:
    json.dump(document(reports), stream, indent=2, sort_keys=True)
    stream.write("\n")


@dataclass(frozen=True)
class Baseline:
    known: dict[str, Counter]  # model path -> fingerprint counts

    def new_findings(self, report: Report) -> Report:
        """The report without the findings the baseline records (each recorded one absorbs one finding)."""
        remaining = Counter(self.known.get(_key(report.path), Counter()))
        kept = []
        for finding in report.findings:
            if remaining[finding.fingerprint] > 0:
                remaining[finding.fingerprint] -= 1
            else:
                kept.append(finding)
        return dataclasses.replace(report, findings=tuple(kept))


def load(path: str) -> Baseline:
    """Raises UnreadableInput naming the problem."""
    try:
        data = parse_json(read_text(path, MAX_BASELINE_BYTES))
    except UnreadableInput as exc:
        raise UnreadableInput(path, f"cannot read baseline ({exc.reason})") from None
    except ValueError as exc:
        raise UnreadableInput(path, f"baseline is not JSON ({exc})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if (
        not isinstance(models, dict)
        or data.get("schema_version") != SCHEMA_VERSION
        or not all(isinstance(v, list) and all(isinstance(fp, str) for fp in v) for v in models.values())
    ):
        raise UnreadableInput(path, "not an onnxlint baseline (write one with --write-baseline)")
    return Baseline({model: Counter(prints) for model, prints in models.items()})


def _key(path: str) -> str:
    """Model paths as written by the user, in POSIX form, so a baseline works on every OS."""
    return PurePath(path).as_posix()
