"""Command line: arguments -> settings -> engine -> formatter -> exit code.

The only module that prints or exits. Heavy modules (onnx, rich, networkx) are imported inside the
commands so that `onnxlint --version` starts as fast as Python itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from onnxlint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITIES = ("error", "warning", "info")
FORMAT_NAMES = ("text", "json")  # for every command
LINT_FORMAT_NAMES = (*FORMAT_NAMES, "sarif", "github")  # lint reports only
SUBCOMMANDS = ("rules", "explain", "inspect")
# rknn-toolkit2 target platforms (kept beside the import-light CLI so --help needs no onnx).
TARGETS = ("rk3588", "rk3576", "rk3568", "rk3566", "rk3562", "rv1106", "rv1103", "rk2118")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other usage error
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS and not Path(argv[0]).is_file():  # a model may be called "rules"
            return {"rules": _rules, "explain": _explain, "inspect": _inspect}[argv[0]](argv[1:])
        return _lint(argv)
    except UsageError as exc:
        print(f"onnxlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("onnxlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `onnxlint rules | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # keep the exit flush quiet
        return EXIT_CLEAN


def _lint_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="onnxlint",
        description="Lint ONNX models (and torch.onnx.export scripts) before they go to an edge NPU. "
                    "Other commands: 'onnxlint rules', 'onnxlint explain CODE', 'onnxlint inspect MODEL'.")
    parser.add_argument("paths", nargs="+", metavar="MODEL", help=".onnx models or Python export scripts")
    parser.add_argument("--target", choices=TARGETS, metavar="NAME",
                        help=f"deployment chip: runs the target rules ({', '.join(TARGETS)})")
    parser.add_argument("--toolkit", metavar="VERSION",
                        help="rknn-toolkit2 version whose knowledge to apply (default: the installed one, else the "
                             "newest onnxlint knows)")
    parser.add_argument("--select", action="append", metavar="RULES",
                        help="comma-separated codes, family prefixes or slugs to run (default: ALL)")
    parser.add_argument("--ignore", action="append", metavar="RULES", help="codes, prefixes or slugs to skip")
    _format_option(parser, LINT_FORMAT_NAMES)
    parser.add_argument("--output", metavar="FILE",
                        help="write the report to FILE (atomically) and a text summary to the terminal")
    parser.add_argument("--fail-on", choices=SEVERITIES, default="warning",
                        help="lowest severity that makes the exit code 1 (default: warning)")
    parser.add_argument("--dynamic-axes", metavar="JSON|FILE",
                        help="the dynamic_axes dict given to torch.onnx.export, as JSON or a JSON file, "
                             "to check against an .onnx")
    parser.add_argument("--anchors", metavar="JSON|FILE",
                        help="anchors the deployment's post-processing uses, in pixels: JSON, a yolov5 model yaml, "
                             "or an anchors txt")
    parser.add_argument("--classes", metavar="N|FILE",
                        help="class count the deployment expects, or a labels file with one name per line")
    parser.add_argument("--mean", metavar="VALUES",
                        help="per-channel mean the runtime subtracts (rknn.config mean_values), e.g. '0,0,0'")
    parser.add_argument("--std", metavar="VALUES",
                        help="per-channel std the runtime divides by (rknn.config std_values), e.g. '255,255,255'")
    parser.add_argument("--input-layout", choices=("nchw", "nhwc"), type=str.lower,
                        help="layout of the image data the deployment feeds to the model")
    parser.add_argument("--version", action="version", version=f"onnxlint {__version__}")
    return parser


def _lint(argv: list[str]) -> int:
    if argv == ["--version"]:  # fast path: no heavy imports
        print(f"onnxlint {__version__}")
        return EXIT_CLEAN
    args = _lint_parser().parse_args(argv)
    from onnxlint.checks import ALL_RULES
    from onnxlint.deployment import parse_anchors, parse_channel_values, parse_classes
    from onnxlint.engine import lint_file
    from onnxlint.finding import Severity
    from onnxlint.output import FORMATS
    from onnxlint.registry import LintSettings, SelectorError, resolve_selection

    try:
        rules = resolve_selection(ALL_RULES, _split(args.select), _split(args.ignore))
    except SelectorError as exc:
        raise UsageError(str(exc)) from None
    settings = LintSettings(target=args.target, toolkit=_toolkit(args.target, args.toolkit),
                            dynamic_axes=_dynamic_axes(args.dynamic_axes),
                            anchors=_deployment_fact(parse_anchors, args.anchors),
                            classes=_deployment_fact(parse_classes, args.classes),
                            mean=_deployment_fact(lambda v: parse_channel_values(v, "--mean"), args.mean),
                            std=_deployment_fact(lambda v: parse_channel_values(v, "--std"), args.std),
                            input_layout=args.input_layout)
    reports = [lint_file(path, rules, settings) for path in args.paths]
    for report in reports:
        if report.error:
            print(f"onnxlint: error: {report.path}: {report.error}", file=sys.stderr)
    if args.output:
        _write_atomically(args.output, lambda stream: FORMATS[args.format].lint(reports, stream, rules))
        FORMATS["text"].lint(reports, sys.stdout, rules)
    else:
        FORMATS[args.format].lint(reports, sys.stdout, rules)
    if any(r.error for r in reports):
        return EXIT_ERROR
    threshold = Severity(args.fail_on).rank
    failing = any(f.severity.rank >= threshold for r in reports for f in r.findings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _write_atomically(path: str, render) -> None:
    """Render into a temporary file beside `path`, then rename: readers never see half a report."""
    import tempfile

    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"--output: cannot write '{path}' ({exc.strerror or exc})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            render(stream)
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UsageError(f"--output: cannot write '{path}' ({exc.strerror or exc})") from None
        raise


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item for value in values for item in value.split(",") if item.strip()]


def _toolkit(target: str | None, named: str | None):
    """The toolkit knowledge to apply: the version named, else the installed one, else the newest known."""
    if target is None:
        if named:
            raise UsageError("--toolkit needs --target")
        return None
    from onnxlint.targets import TOOLKIT, installed_version, known_versions, load_facts

    known = known_versions()
    version = named or installed_version() or known[-1]
    if version not in known:
        source = "was named" if named else "is installed"
        raise UsageError(f"{TOOLKIT} {version} {source}, but onnxlint has knowledge for {', '.join(known)} only; "
                         f"pass --toolkit {known[-1]} to apply that")
    return load_facts(version)


def _deployment_fact(parse, value: str | None):
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _dynamic_axes(value: str | None):
    if value is None:
        return None
    from onnxlint.registry import normalize_dynamic_axes

    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--dynamic-axes: cannot read '{value}' ({exc.strerror or exc})") from None
    try:
        return normalize_dynamic_axes(json.loads(text))
    except json.JSONDecodeError as exc:
        raise UsageError(f"--dynamic-axes: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") \
            from None
    except ValueError as exc:
        raise UsageError(f"--dynamic-axes: {exc}") from None


def _format_option(parser: argparse.ArgumentParser, names: tuple[str, ...] = FORMAT_NAMES) -> None:
    parser.add_argument("--format", choices=names, default="text", help=f"output format ({', '.join(names)})")


def _rules(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint rules", description="List every rule.")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.checks import ALL_RULES
    from onnxlint.output import FORMATS

    FORMATS[args.format].rules(ALL_RULES, sys.stdout)
    return EXIT_CLEAN


def _explain(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint explain", description="Show a rule's documentation.")
    parser.add_argument("rule", metavar="CODE|SLUG")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.checks import ALL_RULES
    from onnxlint.output import FORMATS
    from onnxlint.registry import find_rule

    rule = find_rule(ALL_RULES, args.rule)
    if rule is None:
        raise UsageError(f"unknown rule '{args.rule}'; 'onnxlint rules' lists them")
    FORMATS[args.format].explain(rule, sys.stdout)
    return EXIT_CLEAN


def _inspect(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint inspect", description="Summarise models: IR, opsets, I/O, operators, size.")
    parser.add_argument("paths", nargs="+", metavar="MODEL")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.graph import build_graphs
    from onnxlint.model import ModelLoadError, load_model
    from onnxlint.output import FORMATS
    from onnxlint.summary import summarize

    summaries, failed = [], False
    for path in args.paths:
        try:
            model = load_model(path)
            summaries.append(summarize(model, build_graphs(model)))
        except ModelLoadError as exc:
            print(f"onnxlint: error: {exc.path}: {exc.reason}", file=sys.stderr)
            summaries.append({"path": str(path), "error": exc.reason})
            failed = True
    FORMATS[args.format].inspect([s for s in summaries if args.format == "json" or "error" not in s], sys.stdout)
    return EXIT_ERROR if failed else EXIT_CLEAN
