"""Command line: arguments -> settings -> engine -> formatter -> exit code.

The only module that prints or exits. Heavy modules (onnx, rich, networkx) are imported inside the
commands so that `onnxlint --version` starts as fast as Python itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from onnxlint import __version__
from onnxlint.rknn.targets import CHIPS as TARGETS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Options that [tool.onnxlint] may also set (the file's key names; argparse's use "_").
COMMAND_LINE_KEYS = ("target", "toolkit", "select", "ignore", "fail-on", "anchors", "classes", "mean", "std",
                     "input-layout", "dynamic-axes")
SEVERITIES = ("error", "warning", "info")
FORMAT_NAMES = ("text", "json")  # for every command
LINT_FORMAT_NAMES = (*FORMAT_NAMES, "sarif", "github")  # lint reports only
SUBCOMMANDS = ("rules", "explain", "inspect", "config", "compare", "rknn-build", "quant")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other usage error
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS and not Path(argv[0]).is_file():  # a model may be called "rules"
            return {"rules": _rules, "explain": _explain, "inspect": _inspect, "config": _config,
                    "compare": _compare, "rknn-build": _rknn_build, "quant": _quant}[argv[0]](argv[1:])
        return _lint(argv)
    except UsageError as exc:
        _stderr(f"onnxlint: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("onnxlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `onnxlint rules | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # keep the exit flush quiet
        return EXIT_CLEAN


def _stderr(line: str) -> None:
    """One line on stderr; names from models and file names are shown with their control characters escaped."""
    from onnxlint.output.escape import visible

    print(visible(line), file=sys.stderr)


def _lint_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="onnxlint",
        description="Lint ONNX models (and torch.onnx.export scripts) before they go to an edge NPU. "
                    "Other commands: 'onnxlint rules', 'onnxlint explain CODE', 'onnxlint inspect MODEL'.")
    parser.add_argument("paths", nargs="+", metavar="MODEL",
                        help=".onnx models, Python export scripts, folders (searched for .onnx files) or globs")
    parser.add_argument("--exclude", action="append", metavar="GLOB",
                        help="leave out files whose path or name matches (repeatable)")
    parser.add_argument("--jobs", type=_at_least(1), default=1, metavar="N",
                        help="lint N files in parallel processes (default: 1); output order stays the same")
    parser.add_argument("--target", choices=TARGETS, metavar="NAME",
                        help=f"deployment chip: runs the target rules ({', '.join(TARGETS)})")
    parser.add_argument("--toolkit", metavar="VERSION",
                        help="rknn-toolkit2 version whose knowledge to apply (default: the installed one, else the "
                             "newest onnxlint knows)")
    parser.add_argument("--select", action="append", metavar="RULES",
                        help="comma-separated codes, family prefixes or slugs to run (default: ALL)")
    parser.add_argument("--ignore", action="append", metavar="RULES", help="codes, prefixes or slugs to skip")
    _format_option(parser, LINT_FORMAT_NAMES)
    parser.add_argument("--output", type=_file_name, metavar="FILE",
                        help="write the report to FILE (atomically) and a text summary to the terminal")
    parser.add_argument("--show-all", action="store_true",
                        help="text output: list every node of a finding that stands for several, not only the first")
    parser.add_argument("--confirm", action="store_true",
                        help="run the model (onnxruntime; rknn-toolkit2 when installed) to prove or refute each "
                             "finding; refuted findings do not count toward --fail-on")
    parser.add_argument("--seed", type=_at_least(0), default=0, metavar="N",
                        help="seed of the random inputs --confirm uses (default: 0)")
    parser.add_argument("--inputs", type=_file_name, metavar="FILE.npz",
                        help="arrays for --confirm to use, by input name")
    parser.add_argument("--rtol", type=_tolerance, default=1e-3, help="--confirm's relative tolerance (default: 1e-3)")
    parser.add_argument("--atol", type=_tolerance, default=1e-5, help="--confirm's absolute tolerance (default: 1e-5)")
    parser.add_argument("--reference", type=_file_name, metavar="FILE.npz",
                        help="outputs saved from the framework on --inputs, by output name: --confirm compares them")
    _limit_options(parser)
    parser.add_argument("--baseline", type=_file_name, metavar="FILE",
                        help="report only findings that FILE does not record")
    parser.add_argument("--write-baseline", type=_file_name, metavar="FILE",
                        help="record every current finding in FILE (then --baseline FILE reports only new ones)")
    parser.add_argument("--fail-on", choices=SEVERITIES,
                        help="lowest severity that makes the exit code 1 (default: warning)")
    _config_option(parser)
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
    from onnxlint.core.engine import lint_file, unreadable_report
    from onnxlint.output import FORMATS

    resolved = _resolve(args)
    run_options = _run_options(args)
    if run_options is not None:  # rules that run the model (RunRule) run too
        resolved = dataclasses.replace(resolved, settings=dataclasses.replace(resolved.settings, run=run_options))
    known = _baseline(args.baseline)
    paths, unsearchable = _expand(args.paths, args.exclude or [])
    inputs = _run_inputs(args, paths)
    destinations = [(option, path) for option, path in (("--output", args.output),
                                                         ("--write-baseline", args.write_baseline))
                    if path is not None]
    for option, path in destinations:  # refused before the run, not after it
        _write_report(option, path, None, inputs)
    lint_one = functools.partial(lint_file, rules=resolved.rules, settings=resolved.settings, policy=resolved.policy)
    if args.jobs > 1 and len(paths) > 1:
        reports = _lint_in_processes(lint_one, paths, args.jobs, resolved.settings)
    else:
        reports = [lint_one(path) for path in paths]
    reports[:0] = [unreadable_report(folder, why, resolved.settings) for folder, why in unsearchable.items()]
    if args.write_baseline is not None:
        from onnxlint.core import baseline

        _write_report("--write-baseline", args.write_baseline, lambda stream: baseline.write(reports, stream), inputs)
    if known is not None:
        reports = [known.new_findings(report) for report in reports]
    if run_options is not None:
        from onnxlint.confirm.runner import confirm_reports

        reports = confirm_reports(reports, resolved.rules, resolved.settings, run_options)
    for report in reports:
        if report.error:
            _stderr(f"onnxlint: error: {report.path}: {report.error}")
        for crash in report.internal_errors:
            _stderr(f"onnxlint: internal error: {report.path}: {crash.source} failed ({crash.exception}: "
                    f"{crash.message}); traceback in {crash.traceback or 'no file'}")

    def render(fmt: str, stream) -> None:
        options = {"show_all": args.show_all} if fmt == "text" else {}
        FORMATS[fmt].lint(reports, stream, resolved.rules, **options)

    if args.output is not None:
        _write_report("--output", args.output, lambda stream: render(args.format, stream), inputs)
        render("text", sys.stdout)
    else:
        render(args.format, sys.stdout)
    if any(r.error or r.internal_errors for r in reports):
        return EXIT_ERROR
    if args.write_baseline:
        return EXIT_CLEAN  # every finding is now recorded
    failing = any(f.severity.rank >= resolved.fail_on.rank and not f.refuted for r in reports for f in r.findings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _lint_in_processes(lint_one, paths: list[str], jobs: int, settings) -> list:
    """Reports of `paths`, in their order, linted `jobs` at a time in worker processes.

    A worker that dies (a segfault in onnx's C++ on a hostile file) breaks its whole pool: every file still in it
    fails with BrokenProcessPool. Those files are linted again, each in a pool of its own, so that only a file
    that kills a worker by itself becomes an internal error, and every other file is still reported."""
    from onnxlint.core.engine import crashed_report

    reports = _lint_in_pool(lint_one, paths, min(jobs, len(paths)))
    for at, outcome in enumerate(reports):
        if isinstance(outcome, BaseException):
            (alone,) = _lint_in_pool(lint_one, [paths[at]], 1)
            reports[at] = crashed_report(paths[at], settings, "worker", alone) \
                if isinstance(alone, BaseException) else alone
    return reports


def _lint_in_pool(lint_one, paths: list[str], workers: int) -> list:
    """One future per file: a report each, or the BrokenProcessPool of a file whose pool died under it."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    outcomes = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(lint_one, path) for path in paths]:
            try:
                outcomes.append(future.result())
            except BrokenProcessPool as exc:
                outcomes.append(exc)
    return outcomes


def _expand(arguments: list[str], exclude: list[str]) -> tuple[list[str], dict[str, str]]:
    """Files to lint, in a stable order: a folder gives its .onnx files (recursively), a glob its matches,
    anything else itself (a missing file is then reported as unreadable). Also {folder: why} for the folders
    that could not be searched, which the run reports as unreadable entries instead of passing over them."""
    import fnmatch
    import glob

    paths: list[str] = []
    unsearchable: dict[str, str] = {}
    for argument in arguments:
        # os.path, not Path: its checks say False for a name the system refuses (too long) instead of raising.
        if os.path.isdir(argument):
            found, failed = _onnx_files(argument)
            unsearchable.update(failed)
            if not found and not failed:
                raise UsageError(f"{argument}: a folder with no .onnx file in it")
        elif not os.path.exists(argument) and glob.has_magic(argument):
            found = sorted(glob.glob(argument, recursive=True))
            if not found:
                raise UsageError(f"no file matches '{argument}'")
        else:
            found = [argument]
        paths.extend(found)

    def excluded(path: str) -> bool:
        posix = Path(path).as_posix()
        return any(fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(Path(path).name, pattern)
                   or fnmatch.fnmatch(posix, f"*/{pattern}") for pattern in exclude)

    kept = list(dict.fromkeys(path for path in paths if not excluded(path)))
    unsearchable = {folder: why for folder, why in unsearchable.items() if not excluded(folder)}
    if not kept and not unsearchable:
        raise UsageError("no files left to lint after --exclude")
    return kept, unsearchable


def _onnx_files(folder: str) -> tuple[list[str], dict[str, str]]:
    """The .onnx files under `folder`, sorted, and {subfolder: why} for those that cannot be listed."""
    failed: dict[str, str] = {}

    def note(exc: OSError) -> None:
        failed[str(Path(exc.filename))] = f"cannot search folder ({exc.strerror or exc})"

    found = []
    for root, _, names in os.walk(folder, onerror=note):  # symlinked folders are not entered, as with rglob
        found.extend(str(Path(root, name)) for name in names
                     if name.lower().endswith(".onnx") and os.path.isfile(os.path.join(root, name)))
    return sorted(found), failed


def _run_options(args: argparse.Namespace):
    """--confirm's inputs and reference outputs, or None without --confirm."""
    if not args.confirm:
        if args.inputs or args.reference:
            raise UsageError("--inputs and --reference need --confirm")
        if args.run_timeout is not None or args.run_memory is not None:
            raise UsageError("--run-timeout and --run-memory need --confirm")
        return None
    from onnxlint.confirm.inputs import load_inputs
    from onnxlint.confirm.runner import ConfirmOptions

    try:
        given = load_inputs(args.inputs) if args.inputs else None
        reference = load_inputs(args.reference, option="--reference") if args.reference else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from onnxlint.confirm.metrics import Tolerance

    return ConfirmOptions(seed=args.seed, inputs=given, reference=reference,
                          tolerance=Tolerance(rtol=args.rtol, atol=args.atol), limits=_limits(args))


def _limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-timeout", type=float, metavar="SECONDS",
                        help="stop each run of a model after SECONDS (default: 600); what it had not finished is "
                             "inconclusive")
    parser.add_argument("--run-memory", type=int, metavar="MIB",
                        help="memory limit of each run of a model, in MiB (default: half of physical memory, at "
                             "most 16384)")


def _limits(args: argparse.Namespace):
    """The bounds of each child process that runs a model: --run-timeout and --run-memory, else the defaults."""
    import math

    from onnxlint.core.sandbox import Limits

    given = {"timeout_s": ("--run-timeout", args.run_timeout), "memory_mib": ("--run-memory", args.run_memory)}
    for option, value in given.values():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"{option} must be a positive number, got {value}")
    return Limits(**{field: value for field, (_, value) in given.items() if value is not None})


def _baseline(path: str | None):
    if path is None:
        return None
    from onnxlint.core import baseline
    from onnxlint.core.errors import UnreadableInput

    try:
        return baseline.load(path)
    except UnreadableInput as exc:
        raise UsageError(f"--baseline: {exc.path}: {exc.reason}") from None


def _all_rules():
    """Built-in rules and installed plugins' (a broken plugin is a one-line error)."""
    from onnxlint.core.plugins import PluginError, all_rules

    try:
        return all_rules()
    except PluginError as exc:
        raise UsageError(str(exc)) from None


def _options(args: argparse.Namespace):
    """(every option with its source, the config file or None): the file's [tool.onnxlint], overridden by the
    options given on the command line."""
    from onnxlint.settings.config import ConfigError, find_config, merge, read_config

    try:
        path = Path(args.config) if args.config else find_config(Path.cwd())
        from_file = read_config(path) if path else {}
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    given = {key: getattr(args, key.replace("-", "_"), None) for key in COMMAND_LINE_KEYS}
    given["select"], given["ignore"] = _split(given["select"]), _split(given["ignore"])
    return merge(from_file, given), path


def _resolve(args: argparse.Namespace):
    from onnxlint.settings.options import OptionError, resolve

    options, path = _options(args)
    try:
        return resolve(options, _all_rules(), root=path.parent if path else None)
    except OptionError as exc:
        raise UsageError(str(exc)) from None


def _write_report(option: str, path: str, render, inputs: list[str]) -> None:
    """Write a report file (render None: only check that it may be written there)."""
    from onnxlint.output.destination import DestinationError, check_destination, write_report

    try:
        if render is None:
            check_destination(option, path, inputs)
        else:
            write_report(option, path, render, inputs)
    except DestinationError as exc:
        raise UsageError(str(exc)) from None


def _run_inputs(args: argparse.Namespace, paths: list[str]) -> list[str]:
    """Every file this run reads: a report must never be written over one of them."""
    from onnxlint.settings.config import find_config

    given = [args.config, args.baseline, args.inputs, args.reference, args.dynamic_axes, args.anchors, args.classes]
    if not args.config:
        given.append(find_config(Path.cwd()))  # the run read it already: it parses
    return [*paths, *(str(value) for value in given if value)]


# Argument types: argparse reports their ArgumentTypeError as "argument --NAME: <message>", a usage error.

def _at_least(minimum: int):
    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # also for thousands of digits, which int() refuses
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value
    return whole_number


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text[:40]}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text[:40]}'")
    return value


def _tolerance(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a tolerance cannot be negative, got {text}")
    return value


def _cosine(text: str) -> float:
    value = _finite_float(text)
    if not -1 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a cosine similarity lies in [-1, 1], got {text}")
    return value


def _file_name(text: str) -> str:
    if not text:  # the shell's "$UNSET_VARIABLE": refuse rather than silently skip the option
        raise argparse.ArgumentTypeError("expected a file name, got an empty string")
    return text


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item for value in values for item in value.split(",") if item.strip()]


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=_file_name, metavar="FILE",
                        help="the TOML file with [tool.onnxlint] to use (default: the nearest pyproject.toml above "
                             "the working directory that has one)")


def _format_option(parser: argparse.ArgumentParser, names: tuple[str, ...] = FORMAT_NAMES) -> None:
    parser.add_argument("--format", choices=names, default="text", help=f"output format ({', '.join(names)})")


def _rules(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint rules", description="List every rule.")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.output import FORMATS

    FORMATS[args.format].rules(_all_rules(), sys.stdout)
    return EXIT_CLEAN


def _explain(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint explain", description="Show a rule's documentation.")
    parser.add_argument("rule", metavar="CODE|SLUG")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.output import FORMATS
    from onnxlint.core.registry import find_rule

    rule = find_rule(_all_rules(), args.rule)
    if rule is None:
        raise UsageError(f"unknown rule '{args.rule}'; 'onnxlint rules' lists them")
    FORMATS[args.format].explain(rule, sys.stdout)
    return EXIT_CLEAN


def _inspect(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint inspect", description="Summarise models: IR, opsets, I/O, operators, size.")
    parser.add_argument("paths", nargs="+", metavar="MODEL")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import ModelLoadError, load_model
    from onnxlint.output import FORMATS
    from onnxlint.analysis.summary import summarize

    summaries, failed = [], False
    for path in args.paths:
        try:
            model = load_model(path)
            summaries.append(summarize(model, build_graphs(model)))
        except ModelLoadError as exc:
            _stderr(f"onnxlint: error: {exc.path}: {exc.reason}")
            summaries.append({"path": str(path), "error": exc.reason})
            failed = True
    FORMATS[args.format].inspect([s for s in summaries if args.format == "json" or "error" not in s], sys.stdout)
    return EXIT_ERROR if failed else EXIT_CLEAN


def _config(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint config",
                     description="Print the effective settings and where each comes from.")
    for key in COMMAND_LINE_KEYS:
        parser.add_argument(f"--{key}", action="append" if key in ("select", "ignore") else "store")
    _config_option(parser)
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.settings.config import DEFAULT, KEYS, Sourced
    from onnxlint.output import FORMATS

    _resolve(args)  # every value is checked, as a lint run would
    options, path = _options(args)
    defaults = {"select": ["ALL"], "fail-on": "warning", "toolkit": "installed, else newest known"}
    effective = {key: options.get(key, Sourced(defaults.get(key), DEFAULT)) for key in KEYS}
    FORMATS[args.format].config(str(path) if path else None, effective, sys.stdout)
    return EXIT_CLEAN


def _compare(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint compare",
                     description="Run two models on the same inputs and find the first node where they diverge.")
    parser.add_argument("a", metavar="A.onnx", help="the reference model")
    parser.add_argument("b", metavar="B.onnx", nargs="?",
                        help="the model under suspicion (e.g. simplified or re-exported); or give --rknn")
    parser.add_argument("--rknn", choices=TARGETS, metavar="CHIP",
                        help="compare A with rknn-toolkit2's simulator for CHIP instead (needs the toolkit)")
    parser.add_argument("--seed", type=_at_least(0), default=0, metavar="N",
                        help="seed of the random inputs (default: 0)")
    parser.add_argument("--inputs", type=_file_name, metavar="FILE.npz", help="arrays to use instead, by input name")
    parser.add_argument("--rtol", type=_tolerance, default=1e-3, help="relative tolerance (default: 1e-3)")
    parser.add_argument("--atol", type=_tolerance, default=1e-5, help="absolute tolerance (default: 1e-5)")
    parser.add_argument("--min-cosine", type=_cosine, metavar="C",
                        help="judge by cosine similarity instead (e.g. 0.999 for fp16, 0.98 for int8)")
    _limit_options(parser)
    _format_option(parser)
    args = parser.parse_args(argv)
    # onnx and onnxruntime load in the children that compare, not here: this process only waits, and holds little.
    from onnxlint.core import sandbox
    from onnxlint.confirm.compare import compare_in_children, compare_with_rknn
    from onnxlint.confirm.metrics import COSINE_FP16, Tolerance
    from onnxlint.core.errors import UnreadableInput

    if (args.b is None) == (args.rknn is None):
        raise UsageError("give either B.onnx or --rknn CHIP")
    limits = _limits(args)
    if args.rknn:  # the toolkit's run is long: vet A first, here (compare_models vets both files in its child)
        from onnxlint.core.graph import build_graphs
        from onnxlint.core.model import ModelLoadError, load_model

        try:
            build_graphs(load_model(args.a, infer=False))  # the same vetting as lint (cycles included)
        except ModelLoadError as exc:
            raise UsageError(f"{exc.path}: {exc.reason}") from None
    try:
        if args.inputs:
            from onnxlint.confirm.inputs import load_inputs
        given = load_inputs(args.inputs) if args.inputs else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # The simulator is fp16 (int8 on rv1106/rv1103): judge it by cosine similarity unless told otherwise.
    min_cosine = args.min_cosine if args.min_cosine is not None or args.rknn is None else COSINE_FP16
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol, min_cosine=min_cosine)
    if args.rknn:
        from onnxlint.rknn import toolkit

        if toolkit.toolkit_python() is None:
            raise UsageError(f"--rknn needs rknn-toolkit2: {toolkit.toolkit_missing()}")
    # The models run in child processes under the limits; their progress reports drive the bar here.
    try:
        if args.rknn:
            comparison = sandbox.run(compare_with_rknn, args.a, args.rknn, seed=args.seed, given=given,
                                     tolerance=tolerance, limits=limits)
        else:
            comparison = _with_progress(args.format, lambda progress: compare_in_children(
                args.a, args.b, limits, seed=args.seed, given=given, tolerance=tolerance, on_progress=progress))
    except sandbox.LimitExceeded as exc:
        raise UsageError(f"the comparison {exc.reason}") from None
    except UnreadableInput as exc:  # a file lint would refuse too (vetted in the child): one line
        raise UsageError(f"{exc.path}: {exc.reason}") from None
    except (ValueError, RuntimeError) as exc:  # models that cannot be compared, or a child that died: one line
        raise UsageError(" ".join(str(exc).split())) from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("onnxruntime", "onnx"):  # the model refused: one line
            raise UsageError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from None
        from onnxlint.core.errors import internal_error

        crash = internal_error("compare", exc, args.a)  # a bug in compare itself
        _stderr(f"onnxlint: internal error: compare failed ({crash.exception}: {crash.message}); traceback in "
                f"{crash.traceback or 'no file'}")
        return EXIT_ERROR
    from onnxlint.output import FORMATS  # after the run: the children's memory does not count on top of it

    FORMATS[args.format].compare(comparison, sys.stdout)
    return EXIT_FINDINGS if comparison.diverged else EXIT_CLEAN


def _with_progress(fmt: str, work):
    """Run `work(progress)` with a progress bar on a terminal's stderr (never in JSON runs or pipes)."""
    if fmt != "text" or not sys.stderr.isatty():
        return work(None)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("comparing tensors", total=None)
        return work(lambda done, total: bar.update(task, completed=done, total=total))


def _rknn_build(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint rknn-build",
                     description="Build a model with the installed rknn-toolkit2; when a fusion rule crashes, retry "
                                 "with the rules the toolkit names until a configuration builds.")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--target", choices=TARGETS, required=True, metavar="NAME",
                        help=f"the chip ({', '.join(TARGETS)})")
    parser.add_argument("--outputs", metavar="auto|NAMES",
                        help="cut the model: 'auto' at the YOLO head tensors onnxlint finds, or comma-separated names")
    parser.add_argument("--dataset", metavar="FILE",
                        help="the toolkit's dataset list for int8 builds (rv1106/rv1103; default: one seeded sample)")
    parser.add_argument("--export-rknn", metavar="OUT", help="write the .rknn of the build that succeeded")
    parser.add_argument("--rounds", type=_at_least(1), default=4, help="most builds to try (default: 4)")
    parser.add_argument("--timeout", type=_at_least(1), default=600,
                        help="seconds per build before it counts as hung")
    parser.add_argument("--log", metavar="FILE", help="where to write the toolkit's full log "
                                                      "(default: MODEL's name + .rknn-build.log in the working folder)")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint import api
    from onnxlint.rknn import toolkit
    from onnxlint.rknn.build import rknn_build
    from onnxlint.core.model import ModelLoadError
    from onnxlint.output import FORMATS

    if toolkit.toolkit_python() is None:
        raise UsageError(toolkit.toolkit_missing())
    try:
        heads = api.inspect(args.model)["heads"] if args.outputs == "auto" else []
    except ModelLoadError as exc:
        raise UsageError(f"{exc.path}: {exc.reason}") from None
    if args.outputs == "auto":
        if not heads:
            raise UsageError(f"{args.model}: --outputs auto found no YOLO head to cut at; name the tensors")
        outputs = heads[0]["rknn_outputs"]
    else:
        outputs = [name for name in args.outputs.split(",") if name] if args.outputs else None
    prediction = api.lint(args.model, target=args.target, select=["TG008"])
    if prediction.error:
        raise UsageError(f"{args.model}: {prediction.error}")
    predicted = [] if outputs else [f.data["failure"] for f in prediction.findings]
    log = Path(args.log or f"{Path(args.model).name}.rknn-build.log")
    inputs = [value for value in (args.model, args.dataset) if value]
    for option, path in (("--log", str(log)), ("--export-rknn", args.export_rknn)):
        if path is not None:
            _write_report(option, path, None, inputs)  # never over the model or the dataset list
    report = _with_progress(args.format, lambda progress: rknn_build(
        Path(args.model), args.target, outputs, args.rounds, log, dataset=args.dataset,
        export=Path(args.export_rknn) if args.export_rknn else None, timeout=args.timeout, predicted=predicted))
    FORMATS[args.format].rknn_build(report, sys.stdout)
    return EXIT_CLEAN if report.built else EXIT_FINDINGS


def _quant(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint quant",
                     description="Predict int8 accuracy loss before the toolkit build: simulate the toolkit's "
                                 "quantization in onnxruntime, rank the layers that lose most, propose the fix.")
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--target", choices=TARGETS, required=True, metavar="CHIP",
                        help=f"the chip ({', '.join(TARGETS)}); rv1106/rv1103 get an integer-only proposal")
    parser.add_argument("--dataset", action="append", metavar="PATH",
                        help="calibration data: image files, a folder of images, an .npz or the toolkit's "
                             "dataset.txt (repeatable; default: a generated sample, reported as such)")
    parser.add_argument("--inputs", metavar="FILE.npz", help="evaluate on these model inputs (by input name) "
                                                             "instead of the held-back sample")
    parser.add_argument("--mean", metavar="VALUES", help="per-channel mean, 0-255 scale, as rknn.config")
    parser.add_argument("--std", metavar="VALUES", help="per-channel std, 0-255 scale, as rknn.config")
    parser.add_argument("--input-size", metavar="N,C,H,W", help="the first input's shape (needed for dynamic dims)")
    parser.add_argument("--algorithm", choices=("normal", "mmse", "kl_divergence"), default="normal",
                        help="the quantized_algorithm you build with (default: normal)")
    parser.add_argument("--method", choices=("channel", "layer"), default="channel",
                        help="the quantized_method you build with (default: channel)")
    parser.add_argument("--top", type=int, default=20, metavar="N", help="layers to report (default: 20)")
    parser.add_argument("--max-float-layers", type=int, default=8, metavar="N",
                        help="most layers the hybrid proposal takes out of int8 (default: 8)")
    parser.add_argument("--goal", type=float, default=0.999, metavar="C",
                        help="worst output cosine the hybrid proposal aims at (default: 0.999)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of a generated sample (default: 0)")
    _format_option(parser)
    args = parser.parse_args(argv)
    from onnxlint.confirm.inputs import load_inputs
    from onnxlint.settings.deployment import parse_channel_values
    from onnxlint.core.model import ModelLoadError, load_model
    from onnxlint.output import FORMATS
    from onnxlint.quant.analyze import analyze
    from onnxlint.quant.dataset import DatasetError

    try:
        load_model(args.model)  # the same vetting as lint: one clear line for a file that cannot be read
    except ModelLoadError as exc:
        raise UsageError(f"{exc.path}: {exc.reason}") from None
    if args.top < 1 or args.max_float_layers < 0:
        raise UsageError("--top must be 1 or more and --max-float-layers 0 or more")
    try:
        mean = parse_channel_values(args.mean, "--mean") if args.mean else None
        std = parse_channel_values(args.std, "--std") if args.std else None
        size = [int(part) for part in args.input_size.replace(" ", "").split(",")] if args.input_size else None
        if size is not None and any(dim <= 0 for dim in size):
            raise ValueError(f"--input-size: dims must be positive, got {args.input_size}")
        given = load_inputs(args.inputs) if args.inputs else None
    except ValueError as exc:
        message = str(exc)
        if message.startswith("invalid literal"):
            message = f"--input-size: expected N,C,H,W integers, got '{args.input_size}'"
        raise UsageError(message) from None

    def work(progress):
        return analyze(args.model, args.target, args.dataset or (), inputs=given, mean=mean, std=std,
                       input_size=size, algorithm=args.algorithm, method=args.method, seed=args.seed,
                       top=args.top, max_float_layers=args.max_float_layers, goal=args.goal,
                       progress=(lambda what, done, total: progress(done, total)) if progress else None)

    try:
        report = _with_progress(args.format, work)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    FORMATS[args.format].quant(report, sys.stdout)
    return EXIT_CLEAN
