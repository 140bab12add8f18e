"""Every option of every command, declared once.

From this table come the argument parser of each command, the keys `[tool.onnxlint]` accepts, the keyword
arguments `onnxlint.lint` accepts, and the rows `onnxlint config` prints. Each default is written here, or
imported from the one module that owns it, and nowhere else.

Light on purpose: the command line builds its parsers from it before anything heavy is imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from onnxlint.confirm.metrics import COSINE_INT8, FP32_ATOL, FP32_RTOL
from onnxlint.core.sandbox import BUILD_TIMEOUT_S, DEFAULT_TIMEOUT_S, MEMORY_CAP_MIB
from onnxlint.rknn.knowledge import QUANTIZED_ALGORITHMS, QUANTIZED_METHODS, int8_only_chips, known_chips

DEFAULT_SEED = 0
SEVERITIES = ("error", "warning", "info")
LAYOUTS = ("nchw", "nhwc")
FORMATS = ("text", "json")  # for every command
LINT_FORMATS = (*FORMATS, "sarif", "github")  # lint reports only

# How a [tool.onnxlint] key is written: a string; rule selectors (a list, or one comma-separated string); a
# deployment fact (as the option's text, or TOML lists, tables and numbers), which may also name a file found
# from the config file's folder; or a table.
STRING, SELECTORS, FACT, FACT_OR_FILE, TABLE = "string", "selectors", "fact", "fact-or-file", "table"


# Argument types: argparse reports their ArgumentTypeError as "argument --NAME: <message>", a usage error.


def at_least(minimum: int) -> Callable[[str], int]:
    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # also for thousands of digits, which int() refuses
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return whole_number


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text[:40]}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text[:40]}'")
    return value


def tolerance(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a tolerance cannot be negative, got {text}")
    return value


def cosine(text: str) -> float:
    value = finite_float(text)
    if not -1 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a cosine similarity lies in [-1, 1], got {text}")
    return value


def file_name(text: str) -> str:
    if not text:  # the shell's "$UNSET_VARIABLE": refuse rather than silently skip the option
        raise argparse.ArgumentTypeError("expected a file name, got an empty string")
    return text


@dataclass(frozen=True)
class Option:
    """One option. `help` may name `{default}`, `{chips}`, `{int8_only}` and `{choices}`; `per_command` holds what
    one command says or takes differently (its own help, metavar, required...)."""

    name: str  # the command-line name without "--"; the TOML key; the API keyword with "_" for "-"
    help: str
    parse: Callable[[str], Any] | None = None
    default: Any = None  # the value when neither the command line nor the config file sets it
    # What help and `onnxlint config` show as the default when it is not a plain value, or lives with the code
    # that applies it (the run limits: core.sandbox.Limits)
    default_text: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    repeatable: bool = False
    flag: bool = False
    required: bool = False
    toml: str | None = None  # how [tool.onnxlint] writes it (STRING, SELECTORS, ...); None: not a config key
    api: bool = False  # onnxlint.lint() takes it as a keyword argument
    operand: bool = False  # names what this run reads or writes, or how it prints: `onnxlint config` omits it
    reads_file: bool = False  # names a file the run reads: a report is never written over it
    per_command: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def flag_name(self) -> str:
        return f"--{self.name}"

    @property
    def keyword(self) -> str:
        return self.name.replace("-", "_")

    def used_by(self, command: str) -> Option:
        return dataclasses.replace(self, **self.per_command.get(command, {}))

    def shown_default(self) -> Any:
        return self.default_text if self.default_text is not None else self.default


def _text(value: Any) -> str:
    """A default as help shows it: 1e-3, not 0.001; 600, not 600.0; ALL, not ('ALL',)."""
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and 0 < value < 1e-2:
        return re.sub(r"e-0*", "e-", f"{value:.0e}")
    return f"{value:g}" if isinstance(value, float) else str(value)


# What quant and compare --int8 say alike of the int8 build's data and settings.
_CALIBRATION = {
    "repeatable": True,
    "metavar": "PATH",
    "help": "calibration data: image files, a folder of images, an .npz or the toolkit's dataset.txt "
    "(repeatable; default: a generated sample, reported as such)",
}
_MEAN = {"help": "per-channel mean, 0-255 scale, as rknn.config"}
_STD = {"help": "per-channel std, 0-255 scale, as rknn.config"}

OPTIONS: tuple[Option, ...] = (
    Option(
        "exclude",
        "leave out files whose path or name matches (repeatable)",
        metavar="GLOB",
        repeatable=True,
        operand=True,
    ),
    Option(
        "jobs",
        "lint N files in parallel processes (default: {default}); output order stays the same",
        parse=at_least(1),
        default=1,
        metavar="N",
    ),
    Option(
        "target",
        "deployment chip: runs the target rules ({chips})",
        metavar="NAME",
        choices=known_chips(),
        toml=STRING,
        api=True,
        per_command={
            "rknn-build": {"required": True, "help": "the chip ({chips})"},
            "quant": {
                "required": True,
                "metavar": "CHIP",
                "help": "the chip ({chips}); {int8_only} get an integer-only proposal",
            },
        },
    ),
    Option(
        "toolkit",
        "rknn-toolkit2 version whose knowledge to apply (default: the installed one, else the newest onnxlint knows)",
        metavar="VERSION",
        default_text="installed, else newest known",
        toml=STRING,
        api=True,
    ),
    Option(
        "select",
        "comma-separated codes, family prefixes or slugs to run (default: {default})",
        metavar="RULES",
        repeatable=True,
        default=("ALL",),
        toml=SELECTORS,
        api=True,
    ),
    Option("ignore", "codes, prefixes or slugs to skip", metavar="RULES", repeatable=True, toml=SELECTORS, api=True),
    Option(
        "format",
        "output format ({choices})",
        choices=FORMATS,
        default="text",
        operand=True,
        per_command={"lint": {"choices": LINT_FORMATS}},
    ),
    Option(
        "output",
        "write the report to FILE (atomically) and a text summary to the terminal",
        parse=file_name,
        metavar="FILE",
        operand=True,
    ),
    Option(
        "show-all",
        "text output: list every node of a finding that stands for several, not only the first",
        flag=True,
        default=False,
    ),
    Option(
        "confirm",
        "run the model (onnxruntime; rknn-toolkit2 when installed) to prove or refute each finding; "
        "refuted findings do not count toward --fail-on",
        flag=True,
        default=False,
        api=True,
    ),
    Option(
        "seed",
        "seed of the random inputs --confirm uses (default: {default})",
        parse=at_least(0),
        default=DEFAULT_SEED,
        metavar="N",
        api=True,
        per_command={
            "compare": {"help": "seed of the random inputs (default: {default})"},
            "quant": {"help": "seed of a generated sample (default: {default})"},
        },
    ),
    Option(
        "inputs",
        "arrays for --confirm to use, by input name",
        parse=file_name,
        metavar="FILE.npz",
        api=True,
        operand=True,
        reads_file=True,
        per_command={
            "compare": {"help": "arrays to use instead, by input name"},
            "quant": {"help": "evaluate on these model inputs (by input name) instead of the held-back sample"},
        },
    ),
    Option(
        "rtol",
        "--confirm's relative tolerance (default: {default})",
        parse=tolerance,
        default=FP32_RTOL,
        api=True,
        per_command={"compare": {"help": "relative tolerance (default: {default})"}},
    ),
    Option(
        "atol",
        "--confirm's absolute tolerance (default: {default})",
        parse=tolerance,
        default=FP32_ATOL,
        api=True,
        per_command={"compare": {"help": "absolute tolerance (default: {default})"}},
    ),
    Option(
        "min-cosine",
        "judge by cosine similarity instead (e.g. 0.999 for fp16, 0.98 for int8)",
        parse=cosine,
        metavar="C",
    ),
    Option(
        "reference",
        "outputs saved from the framework on --inputs, by output name: --confirm compares them",
        parse=file_name,
        metavar="FILE.npz",
        api=True,
        operand=True,
        reads_file=True,
    ),
    Option(
        "run-timeout",
        "stop each run of a model after SECONDS (default: {default}); what it had not finished is inconclusive",
        parse=float,
        default_text=_text(DEFAULT_TIMEOUT_S),
        metavar="SECONDS",
        api=True,
    ),
    Option(
        "run-memory",
        "memory limit of each run of a model, in MiB (default: {default})",
        parse=int,
        default_text=f"half of physical memory, at most {MEMORY_CAP_MIB}",
        metavar="MIB",
        api=True,
    ),
    Option(
        "baseline",
        "report only findings that FILE does not record",
        parse=file_name,
        metavar="FILE",
        api=True,
        operand=True,
        reads_file=True,
    ),
    Option(
        "write-baseline",
        "record every current finding in FILE (then --baseline FILE reports only new ones)",
        parse=file_name,
        metavar="FILE",
        operand=True,
    ),
    Option(
        "fail-on",
        "lowest severity that makes the exit code 1 (default: {default})",
        choices=SEVERITIES,
        default="warning",
        toml=STRING,
    ),
    Option(
        "config",
        "the TOML file with [tool.onnxlint] to use (default: the nearest pyproject.toml above the "
        "working directory that has one)",
        parse=file_name,
        metavar="FILE",
        api=True,
        operand=True,
        reads_file=True,
    ),
    Option(
        "dynamic-axes",
        "the dynamic_axes dict given to torch.onnx.export, as JSON or a JSON file, to check against an .onnx",
        metavar="JSON|FILE",
        toml=FACT_OR_FILE,
        api=True,
        reads_file=True,
    ),
    Option(
        "anchors",
        "anchors the deployment's post-processing uses, in pixels: JSON, a yolov5 model yaml, or an anchors txt",
        metavar="JSON|FILE",
        toml=FACT_OR_FILE,
        api=True,
        reads_file=True,
    ),
    Option(
        "classes",
        "class count the deployment expects, or a labels file with one name per line",
        metavar="N|FILE",
        toml=FACT_OR_FILE,
        api=True,
        reads_file=True,
    ),
    Option(
        "mean",
        "per-channel mean the runtime subtracts (rknn.config mean_values), e.g. '0,0,0'",
        metavar="VALUES",
        toml=FACT,
        api=True,
        per_command={"quant": _MEAN, "compare": _MEAN},
    ),
    Option(
        "std",
        "per-channel std the runtime divides by (rknn.config std_values), e.g. '255,255,255'",
        metavar="VALUES",
        toml=FACT,
        api=True,
        per_command={"quant": _STD, "compare": _STD},
    ),
    Option(
        "input-layout",
        "layout of the image data the deployment feeds to the model",
        parse=str.lower,
        choices=LAYOUTS,
        toml=STRING,
        api=True,
    ),
    # Keys of [tool.onnxlint] only: tables have no command-line form.
    Option("severity", "report a rule at another severity: {code or slug: severity}", toml=TABLE),
    Option("per-model-ignores", "path glob (relative to the config file) -> rules", toml=TABLE),
    Option("per-node-ignores", "node-name glob -> rules", toml=TABLE),
    Option("rules", "options a rule declares, by code or slug", toml=TABLE),
    # compare
    Option(
        "rknn",
        "compare A with rknn-toolkit2's simulator for CHIP instead (needs the toolkit)",
        metavar="CHIP",
        choices=known_chips(),
    ),
    Option(
        "int8",
        f"with --rknn: build int8 (w8a8), calibrated on --dataset, and judge by cosine {COSINE_INT8} "
        f"unless --min-cosine is given ({{int8_only}} always build int8)",
        flag=True,
        default=False,
    ),
    # rknn-build
    Option(
        "outputs",
        "cut the model: 'auto' at the YOLO head tensors onnxlint finds, or comma-separated names",
        metavar="auto|NAMES",
    ),
    Option(
        "dataset",
        "the toolkit's dataset list for int8 builds ({int8_only}; default: one seeded sample)",
        metavar="FILE",
        per_command={"quant": _CALIBRATION, "compare": _CALIBRATION},
    ),
    Option("export-rknn", "write the .rknn of the build that succeeded", metavar="OUT"),
    Option("rounds", "most builds to try (default: {default})", parse=at_least(1), default=4),
    Option("timeout", "seconds per build before it counts as hung", parse=at_least(1), default=BUILD_TIMEOUT_S),
    Option(
        "log",
        "where to write the toolkit's full log (default: MODEL's name + .rknn-build.log in the working folder)",
        metavar="FILE",
    ),
    # quant
    Option("input-size", "the first input's shape (needed for dynamic dims)", metavar="N,C,H,W"),
    Option(
        "algorithm",
        "the quantized_algorithm you build with (default: {default})",
        choices=QUANTIZED_ALGORITHMS,
        default="normal",
        per_command={"compare": {"help": "the --int8 build's quantized_algorithm (default: {default})"}},
    ),
    Option(
        "method",
        "the quantized_method you build with (default: {default})",
        choices=QUANTIZED_METHODS,
        default="channel",
        per_command={"compare": {"help": "the --int8 build's quantized_method (default: {default})"}},
    ),
    Option("top", "layers to report (default: {default})", parse=int, default=20, metavar="N"),
    Option(
        "max-float-layers",
        "most layers the hybrid proposal takes out of int8 (default: {default})",
        parse=int,
        default=8,
        metavar="N",
    ),
    Option(
        "goal",
        "worst output cosine the hybrid proposal aims at (default: {default})",
        parse=float,
        default=0.999,
        metavar="C",
    ),
)
BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}

# The options each command takes, in the order its help lists them.
LINT = (
    "exclude",
    "jobs",
    "target",
    "toolkit",
    "select",
    "ignore",
    "format",
    "output",
    "show-all",
    "confirm",
    "seed",
    "inputs",
    "rtol",
    "atol",
    "reference",
    "run-timeout",
    "run-memory",
    "baseline",
    "write-baseline",
    "fail-on",
    "config",
    "dynamic-axes",
    "anchors",
    "classes",
    "mean",
    "std",
    "input-layout",
)
COMMANDS: Mapping[str, tuple[str, ...]] = {
    "lint": LINT,
    # every setting of a lint run, to show what it would apply
    "config": (*(name for name in LINT if not BY_NAME[name].operand), "config", "format"),
    "rules": ("format",),
    "explain": ("format",),
    "inspect": ("format",),
    "compare": (
        "rknn",
        "int8",
        "dataset",
        "mean",
        "std",
        "algorithm",
        "method",
        "seed",
        "inputs",
        "rtol",
        "atol",
        "min-cosine",
        "run-timeout",
        "run-memory",
        "format",
    ),
    "rknn-build": ("target", "outputs", "dataset", "export-rknn", "rounds", "timeout", "log", "format"),
    "quant": (
        "target",
        "dataset",
        "inputs",
        "mean",
        "std",
        "input-size",
        "algorithm",
        "method",
        "top",
        "max-float-layers",
        "goal",
        "seed",
        "format",
    ),
}
# [tool.onnxlint]'s keys, and onnxlint.lint()'s keyword arguments beside the model.
CONFIG_KEYS: Mapping[str, Option] = {option.name: option for option in OPTIONS if option.toml}
API_KEYWORDS: Mapping[str, Option] = {option.keyword: option for option in OPTIONS if option.api}
# What `onnxlint config` prints: every setting of a lint run, and the tables only the config file holds.
SHOWN_BY_CONFIG = tuple(BY_NAME[name] for name in COMMANDS["config"] if not BY_NAME[name].operand) + tuple(
    option for option in OPTIONS if option.toml == TABLE
)


def add_options(parser: argparse.ArgumentParser, command: str, defaults: bool = True) -> None:
    """The command's options, from the table. Options the config file may also set default to None, so that
    a value not given on the command line falls back to the file's, then to the table's default; so does every
    option without `defaults`, to tell what was given."""
    for name in COMMANDS[command]:
        option = BY_NAME[name].used_by(command)
        help_text = option.help.format(
            default=_text(option.shown_default()),
            chips=", ".join(known_chips()),
            int8_only="/".join(chip for chip in known_chips() if chip in int8_only_chips()),
            choices=", ".join(option.choices or ()),
        )
        settings: dict[str, Any] = {"help": help_text}
        if option.flag:
            settings["action"] = "store_true"
        else:
            settings["action"] = "append" if option.repeatable else "store"
            for key, value in (("type", option.parse), ("choices", option.choices), ("metavar", option.metavar)):
                if value is not None:
                    settings[key] = value
            if option.required:
                settings["required"] = True
        plain = option.toml is None and not (option.repeatable or option.flag or option.default is None)
        if plain and (defaults or option.operand):
            settings["default"] = option.default
        parser.add_argument(option.flag_name, **settings)
