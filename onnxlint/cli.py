"""Command line: arguments -> settings -> engine -> formatter -> exit code.

The only module that prints or exits. Heavy modules (onnx, rich, networkx) are imported inside the
commands so that `onnxlint --version` starts as fast as Python itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from onnxlint import __version__
from onnxlint.core.policy import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from onnxlint.settings.table import BY_NAME, COMMANDS, LINT, OPTIONS, SHOWN_BY_CONFIG, add_options

SUBCOMMANDS = ("rules", "explain", "inspect", "config", "compare", "rknn-build", "quant")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other usage error
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _require_working_folder()
        if argv and argv[0] in SUBCOMMANDS and not Path(argv[0]).is_file():  # a model may be called "rules"
            return {
                "rules": _rules,
                "explain": _explain,
                "inspect": _inspect,
                "config": _config,
                "compare": _compare,
                "rknn-build": _rknn_build,
                "quant": _quant,
            }[argv[0]](argv[1:])
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


def _require_working_folder() -> None:
    """Relative paths, the config search and the reports all start from the working folder: one that was deleted
    under the shell is a usage error, not a traceback from the first of them."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise UsageError(
            "the current folder no longer exists (deleted after the shell entered it); cd to one that does"
        ) from None


def _stderr(line: str) -> None:
    """One line on stderr; names from models and file names are shown with their control characters escaped."""
    from onnxlint.output.escape import visible

    print(visible(line), file=sys.stderr)


def _lint_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="onnxlint",
        description="Lint ONNX models (and torch.onnx.export scripts) before they go to an edge NPU. "
        "Other commands: 'onnxlint rules', 'onnxlint explain CODE', 'onnxlint inspect MODEL'.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="MODEL",
        help=".onnx models, Python export scripts, folders (searched for .onnx files) or globs",
    )
    add_options(parser, "lint")
    parser.add_argument("--version", action="version", version=f"onnxlint {__version__}")
    return parser


def _lint(argv: list[str]) -> int:
    if argv == ["--version"]:  # fast path: no heavy imports
        print(f"onnxlint {__version__}")
        return EXIT_CLEAN
    args = _lint_parser().parse_args(argv)
    from onnxlint.output import FORMATS
    from onnxlint.pipeline import lint_paths

    setup = _setup(args)
    paths, unsearchable = _expand(args.paths, args.exclude or [])
    inputs = _run_inputs(args, paths)
    destinations = [
        (option, path)
        for option, path in (("--output", args.output), ("--write-baseline", args.write_baseline))
        if path is not None
    ]
    for option, path in destinations:  # refused before the run, not after it
        _write_report(option, path, None, inputs)

    def record(reports) -> None:
        from onnxlint.core import baseline

        _write_report("--write-baseline", args.write_baseline, lambda stream: baseline.write(reports, stream), inputs)

    outcome = lint_paths(paths, setup, unsearchable, record=record if args.write_baseline is not None else None)
    reports = list(outcome.reports)
    for report in reports:
        if report.error:
            _stderr(f"onnxlint: error: {report.path}: {report.error}")
        for crash in report.internal_errors:
            _stderr(
                f"onnxlint: internal error: {report.path}: {crash.source} failed ({crash.exception}: "
                f"{crash.message}); traceback in {crash.traceback or 'no file'}"
            )

    def render(fmt: str, stream) -> None:
        options = {"show_all": args.show_all} if fmt == "text" else {}
        FORMATS[fmt].lint(reports, stream, setup.resolved.rules, **options)

    if args.output is not None:
        _write_report("--output", args.output, lambda stream: render(args.format, stream), inputs)
        render("text", sys.stdout)
    else:
        render(args.format, sys.stdout)
    return outcome.exit_code


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
        return any(
            fnmatch.fnmatch(posix, pattern)
            or fnmatch.fnmatch(Path(path).name, pattern)
            or fnmatch.fnmatch(posix, f"*/{pattern}")
            for pattern in exclude
        )

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

    found: list[str] = []
    for root, _, names in os.walk(folder, onerror=note):  # symlinked folders are not entered, as with rglob
        found.extend(
            str(Path(root, name))
            for name in names
            if name.lower().endswith(".onnx") and os.path.isfile(os.path.join(root, name))
        )
    return sorted(found), failed


def _given(args: argparse.Namespace, command: str) -> dict:
    """{option name: value or None} of the options `command` takes, as parsed (--select/--ignore split)."""
    given = {name: getattr(args, BY_NAME[name].keyword) for name in COMMANDS[command]}
    for name in ("select", "ignore"):
        if name in given:
            given[name] = _split(given[name])
    return given


def _config_path(args: argparse.Namespace) -> Path | None:
    from onnxlint.settings.config import ConfigError, find_config

    try:
        return Path(args.config) if args.config else find_config(Path.cwd())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _setup(args: argparse.Namespace, command: str = "lint"):
    """The run the arguments ask for: the config file's settings under the command line's, each value checked."""
    from onnxlint.settings.config import ConfigError
    from onnxlint.settings.options import OptionError, lint_setup

    try:
        return lint_setup(_given(args, command), _config_path(args), _all_rules())
    except (ConfigError, OptionError) as exc:
        raise UsageError(str(exc)) from None


def _all_rules():
    """Built-in rules and installed plugins' (a broken plugin is a one-line error)."""
    from onnxlint.core.plugins import PluginError, all_rules

    try:
        return all_rules()
    except PluginError as exc:
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

    given = [getattr(args, option.keyword) for option in OPTIONS if option.reads_file and option.name in LINT]
    if not args.config:
        given.append(find_config(Path.cwd()))  # the run read it already: it parses
    return [*paths, *(str(value) for value in given if value)]


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item for value in values for item in value.split(",") if item.strip()]


def _rules(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint rules", description="List every rule.")
    add_options(parser, "rules")
    args = parser.parse_args(argv)
    from onnxlint.output import FORMATS

    FORMATS[args.format].rules(_all_rules(), sys.stdout)
    return EXIT_CLEAN


def _explain(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint explain", description="Show a rule's documentation.")
    parser.add_argument("rule", metavar="CODE|SLUG")
    add_options(parser, "explain")
    args = parser.parse_args(argv)
    from onnxlint.core.registry import find_rule
    from onnxlint.output import FORMATS

    rule = find_rule(_all_rules(), args.rule)
    if rule is None:
        raise UsageError(f"unknown rule '{args.rule}'; 'onnxlint rules' lists them")
    FORMATS[args.format].explain(rule, sys.stdout)
    return EXIT_CLEAN


def _inspect(argv: list[str]) -> int:
    parser = _Parser(prog="onnxlint inspect", description="Summarise models: IR, opsets, I/O, operators, size.")
    parser.add_argument("paths", nargs="+", metavar="MODEL")
    add_options(parser, "inspect")
    args = parser.parse_args(argv)
    from onnxlint.analysis.summary import summarize
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import ModelLoadError, load_model
    from onnxlint.output import FORMATS

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
    parser = _Parser(prog="onnxlint config", description="Print the effective settings and where each comes from.")
    add_options(parser, "config", defaults=False)  # what is not given shows as the default
    args = parser.parse_args(argv)
    from onnxlint.output import FORMATS
    from onnxlint.settings.config import COMMAND_LINE, DEFAULT, Sourced

    setup = _setup(args, "config")  # every value is checked, as a lint run would
    given = _given(args, "config")

    def effective(option) -> Sourced:
        if option.name in setup.options:  # a config key given on the command line or in the file
            return setup.options[option.name]
        if given.get(option.name) not in (None, False):
            return Sourced(given[option.name], COMMAND_LINE)
        return Sourced(option.shown_default(), DEFAULT)

    path = setup.config_path
    FORMATS[args.format].config(
        str(path) if path else None, {option.name: effective(option) for option in SHOWN_BY_CONFIG}, sys.stdout
    )
    return EXIT_CLEAN


def _compare(argv: list[str]) -> int:
    parser = _Parser(
        prog="onnxlint compare",
        description="Run two models on the same inputs and find the first node where they diverge.",
    )
    parser.add_argument("a", metavar="A.onnx", help="the reference model")
    parser.add_argument(
        "b",
        metavar="B.onnx",
        nargs="?",
        help="the model under suspicion (e.g. simplified or re-exported); or give --rknn",
    )
    add_options(parser, "compare")
    args = parser.parse_args(argv)
    # onnx and onnxruntime load in the children that compare, not here: this process only waits, and holds little.
    from onnxlint.confirm.compare import Int8Build, compare_in_children, compare_with_rknn
    from onnxlint.confirm.metrics import COSINE_FP16, COSINE_INT8, Tolerance
    from onnxlint.core import sandbox
    from onnxlint.core.errors import UnreadableInput
    from onnxlint.rknn.knowledge import int8_only_chips
    from onnxlint.settings.deployment import parse_channel_values
    from onnxlint.settings.options import OptionError, run_limits

    if (args.b is None) == (args.rknn is None):
        raise UsageError("give either B.onnx or --rknn CHIP")
    if args.int8 and not args.rknn:
        raise UsageError("--int8 builds for the simulator: give --rknn CHIP instead of B.onnx")
    int8 = args.int8 or args.rknn in int8_only_chips()  # those chips have no fp16: their build is always int8
    int8_settings = [("--dataset", args.dataset), ("--mean", args.mean), ("--std", args.std)]
    # These two have defaults (the toolkit's), so only a value that would change the build can be told apart.
    int8_settings += [(f"--{name}", getattr(args, name) != BY_NAME[name].default) for name in ("algorithm", "method")]
    for option, value in int8_settings:
        if value and not int8:
            raise UsageError(f"{option} sets up the int8 build: give --int8 with --rknn CHIP")
    try:
        limits = run_limits(_given(args, "compare"))
    except OptionError as exc:
        raise UsageError(str(exc)) from None
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
        mean = list(parse_channel_values(args.mean, "--mean")) if args.mean else None
        std = list(parse_channel_values(args.std, "--std")) if args.std else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # The simulator is fp16 or int8: judge it by cosine similarity, that of its precision, unless told otherwise.
    min_cosine = (
        args.min_cosine if args.min_cosine is not None or args.rknn is None else (COSINE_INT8 if int8 else COSINE_FP16)
    )
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol, min_cosine=min_cosine)
    if args.rknn:
        from onnxlint.rknn import toolkit

        if toolkit.toolkit_python() is None:
            raise UsageError(f"--rknn needs rknn-toolkit2: {toolkit.toolkit_missing()}")
    # The models run in child processes under the limits; their progress reports drive the bar here.
    try:
        if args.rknn:
            build = Int8Build(tuple(args.dataset or ()), mean, std, args.algorithm, args.method) if int8 else None
            comparison = sandbox.run(
                compare_with_rknn,
                args.a,
                args.rknn,
                seed=args.seed,
                given=given,
                tolerance=tolerance,
                int8=build,
                limits=limits,
            )
        else:
            comparison = _with_progress(
                args.format,
                lambda progress: compare_in_children(
                    args.a, args.b, limits, seed=args.seed, given=given, tolerance=tolerance, on_progress=progress
                ),
            )
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
        _stderr(
            f"onnxlint: internal error: compare failed ({crash.exception}: {crash.message}); traceback in "
            f"{crash.traceback or 'no file'}"
        )
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
    parser = _Parser(
        prog="onnxlint rknn-build",
        description="Build a model with the installed rknn-toolkit2; when a fusion rule crashes, retry "
        "with the rules the toolkit names until a configuration builds.",
    )
    parser.add_argument("model", metavar="MODEL")
    add_options(parser, "rknn-build")
    args = parser.parse_args(argv)
    from onnxlint.core.registry import ModelContext
    from onnxlint.output import FORMATS
    from onnxlint.rknn import toolkit
    from onnxlint.rknn.build import predict, rknn_build
    from onnxlint.settings.options import OptionError

    if toolkit.toolkit_python() is None:
        raise UsageError(toolkit.toolkit_missing())
    try:
        prediction = predict(Path(args.model), args.target)
    except OptionError as exc:
        raise UsageError(str(exc)) from None
    if prediction.report.error:
        raise UsageError(f"{args.model}: {prediction.report.error}")
    if args.outputs == "auto":
        heads = prediction.context.heads if isinstance(prediction.context, ModelContext) else []
        if not heads:
            raise UsageError(f"{args.model}: --outputs auto found no YOLO head to cut at; name the tensors")
        outputs: list[str] | None = heads[0].rknn_outputs
    else:
        outputs = [name for name in args.outputs.split(",") if name] if args.outputs else None
    predicted = [] if outputs else [f.data["failure"] for f in prediction.report.findings]
    log = Path(args.log or f"{Path(args.model).name}.rknn-build.log")
    inputs = [value for value in (args.model, args.dataset) if value]
    for option, path in (("--log", str(log)), ("--export-rknn", args.export_rknn)):
        if path is not None:
            _write_report(option, path, None, inputs)  # never over the model or the dataset list
    report = _with_progress(
        args.format,
        lambda progress: rknn_build(
            Path(args.model),
            args.target,
            outputs,
            args.rounds,
            log,
            dataset=args.dataset,
            export=Path(args.export_rknn) if args.export_rknn else None,
            timeout=args.timeout,
            predicted=predicted,
        ),
    )
    FORMATS[args.format].rknn_build(report, sys.stdout)
    return EXIT_CLEAN if report.built else EXIT_FINDINGS


def _quant(argv: list[str]) -> int:
    parser = _Parser(
        prog="onnxlint quant",
        description="Predict int8 accuracy loss before the toolkit build: simulate the toolkit's "
        "quantization in onnxruntime, rank the layers that lose most, propose the fix.",
    )
    parser.add_argument("model", metavar="MODEL")
    add_options(parser, "quant")
    args = parser.parse_args(argv)
    from onnxlint.confirm.inputs import load_inputs
    from onnxlint.core.model import ModelLoadError, load_model
    from onnxlint.output import FORMATS
    from onnxlint.quant.analyze import analyze
    from onnxlint.quant.dataset import DatasetError
    from onnxlint.settings.deployment import parse_channel_values

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
        return analyze(
            args.model,
            args.target,
            args.dataset or (),
            inputs=given,
            mean=mean,
            std=std,
            input_size=size,
            algorithm=args.algorithm,
            method=args.method,
            seed=args.seed,
            top=args.top,
            max_float_layers=args.max_float_layers,
            goal=args.goal,
            progress=(lambda what, done, total: progress(done, total)) if progress else None,
        )

    try:
        report = _with_progress(args.format, work)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    FORMATS[args.format].quant(report, sys.stdout)
    return EXIT_CLEAN
