#!/usr/bin/env python3
"""Summarize onnxlint.rknn.probe_ops results as Markdown.

Rewrites the generated part of ``rules/targets/probe/README.md`` (between the
``<!-- summary:begin -->`` / ``<!-- summary:end -->`` markers) with per-chip counts
and the disagreements with Rockchip's op-support doc, and writes the full
case-by-chip matrix to ``<version dir>/MATRIX.md``.  Chips are listed in the order of onnxlint's knowledge.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's onnxlint, not an installed one

from onnxlint.rknn.knowledge import known_chips, probe_root

PROBE_ROOT = probe_root()
DEFAULT_REFERENCE = PROBE_ROOT / "reference" / "rknn_onnx_ops_2.3.2.json"
OUTCOMES = ["npu", "cpu", "unsupported", "error"]
BEGIN, END = "<!-- summary:begin -->", "<!-- summary:end -->"


def load_chips(version_dir: Path) -> dict[str, dict]:
    chips = {path.stem: json.loads(path.read_text()) for path in version_dir.glob("*.json")}
    order = known_chips()
    return {
        chip: chips[chip]
        for chip in sorted(chips, key=lambda c: (c not in order, order.index(c) if c in order else 0, c))
    }


def counts_table(chips: dict[str, dict], total_cases: int) -> list[str]:
    lines = ["| chip | cases probed | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for chip, data in chips.items():
        counts = Counter(case["outcome"] for case in data["cases"].values())
        probed = f"{len(data['cases'])}/{total_cases}"
        lines.append(f"| {chip} | {probed} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    return lines


FOLDED = "npu (folded)"


def outcome_label(case: dict) -> str:
    """Tell ops folded away at build time apart from ops that really run on the NPU."""
    return FOLDED if case["outcome"] == "npu" and not case["layers"] else case["outcome"]


def outcomes_by_op(cases: dict[str, dict]) -> dict[str, dict[str, str]]:
    by_op: dict[str, dict[str, str]] = {}
    for case_id, case in sorted(cases.items()):
        by_op.setdefault(case["op"], {})[case_id] = outcome_label(case)
    return by_op


def describe(case_outcomes: dict[str, str]) -> str:
    """The outcome, "npu", when all cases agree, else each outcome with its cases: "npu: `A`, `B`; cpu: `C`"."""
    by_outcome: dict[str, list[str]] = {}
    for case_id, outcome in case_outcomes.items():
        by_outcome.setdefault(outcome, []).append(case_id)
    if len(by_outcome) == 1:
        return next(iter(by_outcome))
    return "; ".join(
        f"{outcome}: " + ", ".join(f"`{case_id}`" for case_id in by_outcome[outcome])
        for outcome in [FOLDED, *OUTCOMES]
        if outcome in by_outcome
    )


def doc_text(entry: dict) -> str:
    text = "supported" if entry["supported"] else "not supported"
    return f"{text} ({entry['remark']})" if entry["remark"] else text


# Disagreement kinds, in the order the README lists them.
RUNS_ON_NPU = "doc: not supported; toolkit: NPU or folded"
BUILDS_WITH_CPU = "doc: not supported; toolkit: builds, CPU fallback"
ALL_REFUSED = "doc: supported; toolkit refuses every case"
KINDS = [RUNS_ON_NPU, BUILDS_WITH_CPU, ALL_REFUSED]


def compare_with_doc(cases: dict[str, dict], reference: dict) -> tuple[list[str], list[str], list[str]]:
    """Markdown tables: (doc wrong about support, doc-supported ops refused or crashing in some
    case, doc-supported ops falling back to the CPU in some case)."""
    wrong, partly_refused, on_cpu = [], [], []
    for op, case_outcomes in outcomes_by_op(cases).items():
        entry = reference["ops"].get(op)
        if entry is None:
            continue
        seen = set(case_outcomes.values())
        row = f"| {op} | {doc_text(entry)} | {describe(case_outcomes)} |"
        if not entry["supported"] and seen & {"npu", FOLDED}:
            wrong.append((KINDS.index(RUNS_ON_NPU), f"| {RUNS_ON_NPU} {row}"))
        elif not entry["supported"] and "cpu" in seen:
            wrong.append((KINDS.index(BUILDS_WITH_CPU), f"| {BUILDS_WITH_CPU} {row}"))
        elif entry["supported"] and seen <= {"unsupported", "error"}:
            wrong.append((KINDS.index(ALL_REFUSED), f"| {ALL_REFUSED} {row}"))
        elif entry["supported"] and seen & {"unsupported", "error"}:
            partly_refused.append(row)
        if entry["supported"] and "cpu" in seen:
            on_cpu.append(row)
    header = ["| op | Rockchip doc 2.3.2 says | toolkit does (per probe case) |", "|---|---|---|"]
    wrong_header = ["| disagreement " + header[0], "|---" + header[1]]
    return (
        wrong_header + [row for _, row in sorted(wrong, key=lambda kind_row: kind_row[0])],
        header + partly_refused,
        header + on_cpu,
    )


def matrix(chips: dict[str, dict]) -> list[str]:
    case_ids = sorted({case_id for data in chips.values() for case_id in data["cases"]})
    lines = ["| case | " + " | ".join(chips) + " |", "|---" * (len(chips) + 1) + "|"]
    for case_id in case_ids:
        cells = [outcome_label(data["cases"][case_id]) if case_id in data["cases"] else "–" for data in chips.values()]
        lines.append(f"| `{case_id}` | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version-dir", type=Path, help="default: the newest rknn-toolkit2-* folder")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--doc-chip", default="rk3588", help="chip compared with the Rockchip doc")
    args = parser.parse_args()

    version_dir = args.version_dir or max(
        PROBE_ROOT.glob("rknn-toolkit2-*"), key=lambda p: [int(n) for n in re.findall(r"\d+", p.name)]
    )
    chips = load_chips(version_dir)
    reference = json.loads(args.reference.read_text())
    total_cases = max(len(data["cases"]) for data in chips.values())
    version = next(iter(chips.values()))["toolkit_version"]
    doc_chip_cases = chips[args.doc_chip]["cases"]
    wrong, partly_refused, on_cpu = compare_with_doc(doc_chip_cases, reference)

    summary = [
        BEGIN,
        f"### Outcome counts (rknn-toolkit2 {version})",
        "",
        *counts_table(chips, total_cases),
        "",
        f"### {args.doc_chip}: where Rockchip's doc (2.3.2) is wrong about toolkit {version}",
        "",
        f'{len(wrong) - 2} ops: the doc says "Not Supported" yet the build succeeds (on the NPU, or with a '
        "CPU fallback), or the doc says supported yet every probe case is refused.",
        "",
        *wrong,
        "",
        f"### {args.doc_chip}: ops the doc calls supported that some probe case makes the toolkit refuse or crash",
        "",
        f"{len(partly_refused) - 2} ops.",
        "",
        *partly_refused,
        "",
        f"### {args.doc_chip}: ops the doc calls supported that fall back to the CPU",
        "",
        f"{len(on_cpu) - 2} ops. The doc does not say NPU or CPU; these run on the CPU in at least one probe case.",
        "",
        *on_cpu,
        "",
        f"The case-by-chip matrix is in [`{version_dir.name}/MATRIX.md`]({version_dir.name}/MATRIX.md).",
        END,
    ]
    readme = PROBE_ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + "\n".join(summary) + text[end:])

    (version_dir / "MATRIX.md").write_text(
        "\n".join(
            [
                f"# rknn-toolkit2 {version}: outcome per probe case and chip",
                "",
                "Generated by `tools/summarize_rknn_probe.py` from the JSON files in this folder; `–` = not probed.",
                "",
                *matrix(chips),
                "",
            ]
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
