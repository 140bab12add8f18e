"""Human output with rich. Every name from a model goes in as plain Text, never parsed as markup."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from onnxlint.core.finding import Finding, Location, Report, Severity
from onnxlint.core.registry import FAMILIES, Rule
from onnxlint.core.ruledocs import read_page
from onnxlint.output.escape import visible

STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _console(stream: TextIO) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def lint(reports: Iterable[Report], stream: TextIO, rules: Iterable[Rule] = (), show_all: bool = False) -> None:
    """The report; a finding that stands for several nodes names the first, or each with `show_all`."""
    console = _console(stream)
    reports = list(reports)
    for report in reports:
        if report.error or not (report.findings or report.internal_errors):
            continue
        console.print(Text(visible(report.path), style="bold underline"))
        for crash in report.internal_errors:
            console.print(
                Text.assemble(
                    ("  internal ", "bold magenta"),
                    (f"{crash.source} ", "bold"),
                    visible(f"failed: {crash.exception}: {crash.message}"),
                    (f"  [traceback in {visible(crash.traceback)}]" if crash.traceback else "", "dim"),
                )
            )
        for finding in report.findings:
            console.print(_finding_line(finding))
            if show_all:
                for where in finding.related:
                    console.print(Text.assemble("        also: ", visible(_place(where))))
            if finding.fix:
                console.print(Text.assemble("        fix: ", (visible(finding.fix), "dim")))
            if finding.evidence:
                console.print(_evidence_line(finding.evidence))
        console.print()
    console.print(_summary(reports))


def _place(where: Location) -> str:
    """'line 12', 'main/If_3.then_branch /a/Conv (Conv)' or "'tensor'": where a finding points."""
    place = []
    if where.line is not None:
        place.append(f"line {where.line}")
    elif where.graph is not None and where.graph != "main":
        place.append(where.graph)
    if where.node:
        place.append(f"{where.node} ({where.op_type})")
    elif where.tensor:
        place.append(f"'{where.tensor}'")
    return " ".join(place)


def _finding_line(finding: Finding) -> Text:
    place = _place(finding.location)
    line = Text.assemble(
        (f"  {finding.severity.value:<8}", STYLES[finding.severity]),
        (f"{finding.code} ", "bold"),
        visible(f"{place}: " if place else ""),
        visible(finding.message),
        (f"  [{finding.rule}]", "dim"),
    )
    return line


EVIDENCE_STYLES = {"confirmed": "bold red", "refuted": "green", "inconclusive": "yellow", "skipped": "dim"}
SHOWN_METRICS = ("cosine", "max_abs", "mismatch_ratio", "snr_db")


def _evidence_line(evidence) -> Text:
    numbers = ", ".join(
        f"{key} {evidence.metrics[key]:.4g}"
        if isinstance(evidence.metrics[key], float)
        else f"{key} {evidence.metrics[key]}"
        for key in SHOWN_METRICS
        if key in evidence.metrics
    )
    return Text.assemble(
        "        ",
        (evidence.verdict, EVIDENCE_STYLES[evidence.verdict]),
        visible(f" by {evidence.backend}: {evidence.detail}"),
        (f" [{numbers}]" if numbers else "", "dim"),
    )


def _summary(reports: list[Report]) -> Text:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 or word == "info" else "s")

    errors = sum(r.count(Severity.ERROR) for r in reports)
    warnings = sum(r.count(Severity.WARNING) for r in reports)
    infos = sum(r.count(Severity.INFO) for r in reports)
    unreadable = sum(1 for r in reports if r.error)
    crashes = sum(len(r.internal_errors) for r in reports)
    ran = max((r.rules_run for r in reports), default=0)
    skipped = max((len(r.rules_skipped) for r in reports), default=0)
    text = (
        f"Found {plural(errors, 'error')}, {plural(warnings, 'warning')}, {plural(infos, 'info')} "
        f"in {plural(len(reports), 'file')} ({ran} rules ran, {skipped} skipped)"
    )
    if unreadable:
        text += f"; {plural(unreadable, 'file')} could not be read"
    if crashes:
        text += f"; {plural(crashes, 'internal error')} (a bug in onnxlint: please report it with the traceback)"
    toolkits = sorted({f"{r.target} with {r.toolkit} knowledge" for r in reports if r.toolkit})
    if toolkits:
        text += visible(f"; target {', '.join(toolkits)}")
    return Text(text + ".")


def inspect(summaries: Iterable[dict[str, Any]], stream: TextIO) -> None:
    console = _console(stream)
    for summary in summaries:
        overview = Table(title=Text(visible(summary["path"])), show_header=False, title_justify="left")
        overview.add_column("field", style="bold")
        overview.add_column("value")
        sizes = summary["size_bytes"]
        for field, value in (
            ("IR version", str(summary["ir_version"])),
            ("opsets", ", ".join(f"{d} {v}" for d, v in summary["opsets"].items())),
            ("producer", visible(summary["producer"] or "unknown")),
            (
                "nodes",
                f"{summary['node_count']} ({summary['subgraph_count']} subgraphs, "
                f"{summary['function_count']} functions)",
            ),
            ("parameters", f"{summary['parameter_count']:,}"),
            (
                "weight memory",
                ", ".join(
                    f"{precision} {memory['mib']:.2f} MiB" for precision, memory in summary["weight_memory"].items()
                ),
            ),
            (
                "size",
                f"{_mib(sizes['total'])} (file {_mib(sizes['file'])}, external data {_mib(sizes['external_data'])})",
            ),
        ):
            overview.add_row(field, Text(value))
        console.print(overview)
        io_table = Table(title="inputs and outputs", title_justify="left")
        for column in ("kind", "name", "dtype", "shape"):
            io_table.add_column(column)
        for kind in ("inputs", "outputs"):
            for value in summary[kind]:
                io_table.add_row(
                    kind[:-1], Text(visible(value["name"])), value["dtype"], Text(visible(value["shape_text"]))
                )
        console.print(io_table)
        ops = Table(title="operators", title_justify="left")
        ops.add_column("op_type")
        ops.add_column("count", justify="right")
        for op_type, count in summary["op_histogram"].items():
            ops.add_row(Text(visible(op_type)), str(count))
        console.print(ops)
        for head in summary["heads"]:
            _print_head(console, summary["path"], head)


def _print_head(console: Console, path: str, head: dict[str, Any]) -> None:
    decode = (
        "decodes boxes in the graph"
        if head["decode_in_graph"]
        else "already cut at the head convolutions"
        if head.get("cut")
        else "raw outputs"
    )
    shape = f"na={head['na']}" if head["na"] else f"reg_max={head['reg_max']}"
    table = Table(title=f"detection head: {head['family']}, nc={head['nc']}, {shape}, {decode}", title_justify="left")
    for column in ("stride", "cut at (rknn output)", "shape", "sigmoid", "anchors (px)"):
        table.add_column(column, overflow="fold")  # names must never be cropped
    for level in head["levels"]:
        anchors = ", ".join(f"{w:g}x{h:g}" for w, h in level["anchors_px"]) if level["anchors_px"] else "-"
        table.add_row(
            str(level["stride"] or "?"),
            Text("\n".join(map(visible, level["tensors"]))),
            Text(visible(str(level["shape"]))),
            "after the cut" if level["sigmoid_in_graph"] else "none",
            anchors,
        )
    console.print(table)
    console.print(Text(visible(f"rknn.load_onnx(model={path!r}, outputs={head['rknn_outputs']!r})")))
    if any(level["sigmoid_in_graph"] for level in head["levels"]):
        console.print(
            "The graph applies the Sigmoid after these tensors: a model cut there outputs logits, so "
            "post-processing must apply it (scores above 1 on the board are the symptom).",
            markup=False,
        )


def _mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def rules(all_rules: Iterable[Rule], stream: TextIO) -> None:
    table = Table(title="onnxlint rules", title_justify="left")
    for column in ("code", "rule", "severity", "summary"):
        table.add_column(column)
    for rule in all_rules:
        table.add_row(rule.code, rule.name, Text(rule.severity.value, style=STYLES[rule.severity]), rule.summary)
    _console(stream).print(table)


def explain(rule: Rule, stream: TextIO) -> None:
    from rich.markdown import Markdown  # markdown-it is slow to import and only explain needs it

    console = _console(stream)
    family = FAMILIES.get(rule.family, "from a plugin")
    console.print(
        f"{rule.code} {rule.name}: family {rule.family} ({family}), default severity "
        f"{rule.severity.value}, reads {' and '.join(sorted(rule.inputs))} files",
        markup=False,
    )
    for name, spec in rule.options.items():
        console.print(
            f"option {name} ({spec.kind.__name__}, default {json.dumps(spec.default)}): {spec.help}; set "
            f"it in [tool.onnxlint.rules.{rule.code}]",
            markup=False,
        )
    page = read_page(rule)
    if console.is_terminal:
        console.print(Markdown(page))
    else:  # piped: the markdown itself, unwrapped and uncropped
        stream.write("\n" + page)


def config(path: str | None, effective: dict[str, Any], stream: TextIO) -> None:
    """`onnxlint config`: one row per setting with its value and where it came from."""
    console = _console(stream)
    console.print(Text(visible(f"config file: {path or 'none found (defaults and command line only)'}")))
    table = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("setting", "value", "source"):
        table.add_column(column)
    for key, entry in effective.items():
        value = "" if entry.value is None else entry.value
        table.add_row(
            Text(key),
            Text(visible(value if isinstance(value, str) else json.dumps(value))),
            Text(visible(entry.source)),
        )
    console.print(table)


def compare(comparison, stream: TextIO) -> None:
    """`onnxlint compare`: the divergence origin, then a table of the tensors outside tolerance."""
    console = _console(stream)
    console.width = max(console.width, 160)  # tensor names are long; a pipe or a narrow terminal still gets rows
    bad = [t for t in comparison.tensors if not t.ok]
    console.print(Text(visible(f"{comparison.a}  vs  {comparison.b}"), style="bold underline"))
    tolerance = comparison.tolerance
    judged = (
        f"min cosine {tolerance.min_cosine}"
        if tolerance.min_cosine is not None
        else f"rtol {tolerance.rtol}, atol {tolerance.atol}"
    )
    console.print(
        Text(
            f"{len(comparison.tensors)} shared tensors compared (seed {comparison.seed}, inputs "
            f"{comparison.input_shapes}, {judged})"
        )
    )
    if comparison.rknn is not None:
        for line in _simulator_build(comparison.rknn):
            console.print(Text(visible(line)))
    origin = comparison.first_divergence
    if origin is None and not bad:
        console.print(Text("No divergence: every shared tensor is within tolerance.", style="green"))
        return
    if origin is not None:
        console.print(
            Text.assemble(
                ("first divergence: ", "bold red"),
                visible(
                    f"{origin.node} ({origin.op_type}) -> '{origin.tensor}'"
                    + (f": {origin.problem}" if origin.problem else "")
                ),
            )
        )
    table = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("tensor", "node", "op", "shape", "max_abs", "mismatch", "cosine"):
        table.add_column(column)
    for result in bad:
        metrics = result.metrics
        table.add_row(
            Text(visible(result.tensor)),
            Text(visible(result.node or "")),
            Text(visible(result.op_type or "")),
            Text(str(result.shape)),
            Text(f"{metrics.max_abs:.3g}" if metrics else "-"),
            Text(f"{metrics.mismatch_ratio:.1%}" if metrics else "-"),
            Text(f"{metrics.cosine:.5f}" if metrics else (result.problem or "-")),
        )
    console.print(Text(f"{len(bad)} tensors outside tolerance:"))
    console.print(table)


def _simulator_build(build: dict) -> list[str]:
    """compare --rknn's build: its precision and rknn.config settings, what it was calibrated and evaluated on."""
    settings = ", ".join(f"{key}={value!r}" for key, value in build["config"].items())
    lines = [f"{build['dtype']} build for {build['chip']}: rknn.config({settings})"]
    if build["calibration"]:
        lines.append(f"calibration data: {build['calibration']['source']}")
    lines.append(f"evaluated on: {build['evaluation']}")
    return lines + build["notes"]


def rknn_build(report, stream: TextIO) -> None:
    """`onnxlint rknn-build`: a short account of each attempt (never the toolkit's raw log)."""
    console = _console(stream)
    console.print(Text(visible(f"{report.model} for {report.chip} with {report.toolkit}"), style="bold underline"))
    for number, attempt in enumerate(report.attempts, start=1):
        rules = f"disable_rules={attempt.disable_rules}" if attempt.disable_rules else "default rules"
        if attempt.failed_stage is None:
            console.print(
                Text.assemble(f"  attempt {number} ({rules}): ", ("builds", "green"), f" in {attempt.seconds} s")
            )
            continue
        console.print(
            Text.assemble(
                f"  attempt {number} ({rules}): ",
                (f"fails at {attempt.failed_stage}", "red"),
                visible(f": {attempt.error or 'no error line'}"),
            )
        )
        if attempt.fusion_rules:
            console.print(
                Text(
                    visible(
                        f"      in fusion rule {', '.join(attempt.fusion_rules)}, matched on "
                        f"{', '.join(attempt.matched_nodes) or 'no named node'}"
                    )
                )
            )
    if report.predicted:
        from onnxlint.checks.tg008_target_toolkit_failure import TargetToolkitFailure

        console.print(Text(f"  predicted by {TargetToolkitFailure.code}: {', '.join(report.predicted)}"))
    if report.unpredicted:
        console.print(
            Text(f"  not in onnxlint's knowledge base: fusion rule {', '.join(report.unpredicted)}", style="yellow")
        )
    if report.built:
        console.print(Text("  what built:", style="bold"))
        for call in report.calls:
            console.print(Text(f"    {call}"))
        layers = ", ".join(f"{op} x{n}" for op, n in sorted(report.cpu_layers.items())) or "none"
        console.print(Text(f"  CPU layers: {layers}"))
        if report.exported:
            console.print(Text(visible(f"  wrote {report.exported}")))
    else:
        console.print(Text("  no configuration built", style="bold red"))
    console.print(Text(visible(f"  full toolkit log: {report.log_path}"), style="dim"))


def quant(report, stream: TextIO) -> None:
    """`onnxlint quant`: predicted cosine per output, the layers that lose most, and the fix to paste."""
    console = _console(stream)
    console.width = max(console.width, 160)
    document = report.to_dict()
    config = document["config"]
    console.print(
        Text(
            visible(
                f"{report.model} for {report.chip}: int8 (quantized_algorithm="
                f"'{config['quantized_algorithm']}', quantized_method='{config['quantized_method']}') "
                f"simulated in onnxruntime"
            ),
            style="bold underline",
        )
    )
    samples = document["samples"]
    console.print(
        Text(
            visible(
                f"samples: {samples['source']} ({samples['calibration']} calibration, "
                f"{samples['evaluation']} evaluation; inputs {samples['input_shapes']})"
            )
        )
    )
    for note in document["notes"]:
        console.print(Text(visible(f"  note: {note}"), style="dim"))
    console.print(Text("predicted end-to-end cosine per output:", style="bold"))
    for output in document["outputs"]:
        cosine = output["predicted_cosine"]
        console.print(Text.assemble("  ", (f"{cosine:.5f}", _cosine_style(cosine)), visible(f"  {output['name']}")))
    table = Table(
        show_edge=False,
        box=None,
        pad_edge=False,
        title=f"layers that lose most ({len(document['layers'])} of {document['layer_count']} quantized "
        f"tensors; each quantized alone)",
        title_justify="left",
    )
    for column in ("tensor", "node", "op", "single", "output", "reason"):
        table.add_column(column, overflow="fold")
    for layer in document["layers"]:
        single = layer["predicted_single_cosine"]
        table.add_row(
            Text(visible(layer["tensor"])),
            Text(visible(layer["node"])),
            Text(visible(layer["op_type"])),
            Text("-" if single is None else f"{single:.4f}"),
            Text(f"{layer['predicted_output_cosine']:.4f}"),
            Text(visible(layer["reason"])),
        )
    console.print(table)
    console.print(Text("configurations (worst output cosine, every layer int8):", style="bold"))
    for entry in document["configs"]:
        console.print(
            Text(f"  {entry['quantized_algorithm']:<14} {entry['quantized_method']:<8} {entry['worst_cosine']:.5f}")
        )
    proposal = document["proposal"]
    console.print(Text("proposal:", style="bold"))
    console.print(Text(visible(f"  {proposal['rknn_config']}   # predicted {proposal['config_predicted_cosine']:.5f}")))
    for step in proposal["steps"]:
        console.print(
            Text(
                visible(
                    f"  + {step['action']} {step['tensor']} ({step['op_type']})  -> predicted "
                    f"{step['predicted_cosine']:.5f}"
                )
            )
        )
    if proposal["float16_layers"] or proposal["int16_layers"]:
        console.print(Text("  in the .quantization.cfg of hybrid_quantization_step1:", style="dim"))
        for line in proposal["quantization_cfg"].splitlines():
            console.print(Text(visible(f"    {line}")))
    if proposal["split_outputs"]:
        console.print(
            Text(
                visible(
                    f"  split these outputs (cut the model before the join, each part gets its own "
                    f"int8 range): {', '.join(proposal['split_outputs'])}"
                )
            )
        )
    if not proposal["steps"]:
        console.print(Text("  no layer change gains enough to propose (the configuration alone is the fix)"))
    if proposal.get("caveat"):
        console.print(Text(visible(f"  caveat: {proposal['caveat']}"), style="yellow"))
    console.print(Text(f"{document['layer_count']} quantized tensors analysed in {document['seconds']:.1f} s."))


def _cosine_style(cosine: float) -> str:
    return "green" if cosine >= 0.999 else "yellow" if cosine >= 0.98 else "bold red"
