"""The Rule base class, the contexts rules read, and rule selection.

A rule is a small class with declared metadata (code, slug, summary, default severity, which inputs
it reads) and a `check_model` and/or `check_script` generator. Rules never print, never mutate the
model and never import onnxruntime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NotRequired, get_origin, get_type_hints

from onnxlint.core.finding import Evidence, Finding, Location, Severity

if TYPE_CHECKING:
    from onnxlint.analysis.exportscript import ExportCall
    from onnxlint.analysis.heads import DetectionHead
    from onnxlint.analysis.probe import DimProbe
    from onnxlint.confirm.confirmer import Confirmer
    from onnxlint.confirm.runner import ConfirmOptions
    from onnxlint.core.graph import GraphView, Node
    from onnxlint.core.model import LoadedModel
    from onnxlint.rknn.placement import Placement
    from onnxlint.rknn.targets import Target

CODE_PATTERN = re.compile(r"^[A-Z]{2}\d{3}$")
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

FAMILIES = {
    "OP": "opset and operator validity",
    "IO": "inputs, outputs and dynamic axes",
    "NM": "numerics: training-mode leftovers and BatchNorm state",
    "LY": "input layout and normalization",
    "HD": "YOLO detection heads and anchors",
    "TG": "deployment target (RKNN toolkit and chip)",
    "EX": "torch.onnx.export scripts",
    "QT": "int8 quantization risk",
}

# Codes that once existed and must never be reused for another rule.
RETIRED: Mapping[str, str] = {}


@dataclass(frozen=True)
class LintSettings:
    """What the user told us about the deployment that rules may read."""

    # The chip and what its toolkit accepts, for the version whose knowledge applies (rknn.targets.resolve_target).
    target: Target | None = None
    # {tensor name: {axis: symbol}} as torch.onnx.export's dynamic_axes, after normalisation.
    dynamic_axes: Mapping[str, Mapping[int, str | None]] | None = None
    # Anchors the deployment's post-processing uses, in pixels: (w, h, w, h, ...) in level order.
    anchors: tuple[float, ...] | None = None
    # Number of classes the deployment's post-processing expects.
    classes: int | None = None
    # The runtime's input preprocessing, as rknn.config(mean_values=, std_values=) takes it (0-255 scale).
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    # Layout of the image data the application hands to the runtime: "nchw" or "nhwc".
    input_layout: str | None = None
    # Set by --confirm: how rules that run the model (RunRule) choose inputs and tolerances.
    run: ConfirmOptions | None = None
    # {rule code: {option: value}} for rules that declare options ([tool.onnxlint.rules.<CODE>]).
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def option(self, rule: Rule, name: str) -> Any:
        """The value of one of `rule`'s declared options: the project's, else the declared default."""
        return self.rule_options.get(rule.code, {}).get(name, rule.options[name].default)


@dataclass(frozen=True)
class RuleOption:
    """An option a rule declares: the project sets it in [tool.onnxlint.rules.<CODE or slug>]."""

    kind: type  # the TOML type it takes: str, int, float, bool or list (of strings)
    default: Any
    help: str


def normalize_dynamic_axes(spec: Any) -> dict[str, dict[int, str | None]]:
    """torch.onnx.export's dynamic_axes ({name: {axis: symbol}} or {name: [axes]}) with int axes.

    Raises ValueError naming what is malformed.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("dynamic axes must map tensor names to {axis: name} or [axes]")
    normalized: dict[str, dict[int, str | None]] = {}
    for tensor, axes in spec.items():
        if not isinstance(tensor, str):
            raise ValueError("dynamic axes must be keyed by tensor names (strings)")
        if isinstance(axes, Mapping):
            items = list(axes.items())
        elif isinstance(axes, (list, tuple)):
            items = [(axis, None) for axis in axes]
        else:
            raise ValueError(f"dynamic axes of '{tensor}' must be {{axis: name}} or [axes]")
        if not all(symbol is None or isinstance(symbol, str) for _, symbol in items):
            raise ValueError(f"dynamic axes of '{tensor}' must be named by strings")
        try:
            normalized[tensor] = {int(axis): symbol for axis, symbol in items}
        except (TypeError, ValueError):
            raise ValueError(f"dynamic axes of '{tensor}' must use integer axes") from None
    return normalized


@dataclass
class ModelContext:
    model: LoadedModel
    graphs: tuple[GraphView, ...]
    settings: LintSettings = field(default_factory=LintSettings)

    @property
    def main(self) -> GraphView:
        return self.graphs[0]

    @property
    def target(self) -> Target:
        """The --target, for a rule that runs only with one (its skip reason says so without one)."""
        if self.settings.target is None:
            raise RuntimeError("a rule that needs --target ran without one")
        return self.settings.target

    @property
    def run(self) -> ConfirmOptions:
        """--confirm's options, for a rule that runs only with --confirm (its skip reason says so without it)."""
        if self.settings.run is None:
            raise RuntimeError("a rule that needs --confirm ran without it")
        return self.settings.run

    def find_node(self, name: str, op_type: str) -> tuple[GraphView, Node] | None:
        """The graph and node that the file names `name` (as written, not synthesized)."""
        for graph in self.graphs:
            for node in graph.nodes:
                if node.proto.name == name and node.op_type == op_type:
                    return graph, node
        return None

    @cached_property
    def dim_probe(self) -> DimProbe:
        """Output dims under concrete input sizes (computed once, on first use)."""
        from onnxlint.analysis.probe import probe_dims

        return probe_dims(self.model, self.main)

    @cached_property
    def heads(self) -> list[DetectionHead]:
        """The YOLO detection heads of the main graph (computed once, on first use)."""
        from onnxlint.analysis.heads import model_heads

        return model_heads(self.model, self.main)

    @cached_property
    def placements(self) -> list[Placement]:
        """Nodes of the main graph the target's toolkit puts on the CPU or cannot build (needs a target)."""
        from onnxlint.rknn.placement import model_placements

        knowledge = self.settings.target.knowledge if self.settings.target else None
        return model_placements(self.main, knowledge, lambda: self.static_tensors) if knowledge else []

    @cached_property
    def static_tensors(self) -> set[str]:
        """Tensors of the main graph the target's toolkit folds into constants before compiling (computed once:
        placement and TG008 both read it, and it walks every node)."""
        from onnxlint.rknn.placement import static_tensors

        return static_tensors(self.main)

    @cached_property
    def node_order(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(graph path, node name) -> (graph rank, topological index), for sorting findings."""
        return {(g.path, n.name): (rank, n.index) for rank, g in enumerate(self.graphs) for n in g.nodes}


@dataclass
class ScriptContext:
    path: str
    exports: tuple[ExportCall, ...]
    settings: LintSettings = field(default_factory=LintSettings)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity]
    # Which inputs the rule reads: "model" (.onnx) and/or "script" (a torch.onnx.export script).
    inputs: ClassVar[frozenset[str]] = frozenset({"model"})
    # The rule's page, for rules from plugins; built-in rules have theirs in rules/docs/.
    doc: ClassVar[str | None] = None
    # Options the project may set for this rule, by name.
    options: ClassVar[Mapping[str, RuleOption]] = {}
    # How --confirm proves or refutes the rule's findings: a confirmer from onnxlint.confirm, told what to check.
    confirmer: ClassVar[Confirmer | None] = None
    # The declared type of the findings' `data` (a TypedDict in the rule's module): the keys a confirmer, a report
    # reader or a test may rely on. `finding` refuses data with other keys.
    data_type: ClassVar[type | None] = None

    @property
    def family(self) -> str:
        return self.code[:2]

    def skip_reason(self, ctx: ModelContext | ScriptContext) -> str | None:
        """Why the rule cannot run on this input (reported in rules_skipped), or None. A reason that depends on the
        input's kind goes in skip_model_reason or skip_script_reason, which are given that kind's context."""
        return self.skip_model_reason(ctx) if isinstance(ctx, ModelContext) else self.skip_script_reason(ctx)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        """Why the rule cannot run on this model, or None."""
        return None

    def skip_script_reason(self, ctx: ScriptContext) -> str | None:
        """Why the rule cannot run on this export script, or None."""
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        return iter(())

    def check_script(self, ctx: ScriptContext) -> Iterator[Finding]:
        return iter(())

    def finding(
        self,
        message: str,
        *,
        graph: GraphView | str | None = None,
        node: Node | None = None,
        tensor: str | None = None,
        line: int | None = None,
        fix: str | None = None,
        data: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
        related: Iterable[tuple[GraphView, Node]] = (),
        evidence: Evidence | None = None,
    ) -> Finding:
        data = dict(data or {})
        if self.data_type is not None:
            _check_declared(self.code, self.data_type, data)
        graph_path = graph if isinstance(graph, str) or graph is None else graph.path
        location = Location(
            # A finding with a line is in a Python script, which has no graph.
            graph=graph_path or ("main" if line is None else None),
            node=node.name if node else None,
            op_type=node.op_type if node else None,
            tensor=tensor,
            line=line,
        )
        return Finding(
            code=self.code,
            rule=self.name,
            severity=severity or self.severity,
            message=message,
            location=location,
            fix=fix,
            data=data,
            evidence=evidence,
            related=tuple(Location(graph=g.path, node=n.name, op_type=n.op_type) for g, n in related),
        )


def _check_declared(code: str, data_type: type, data: Mapping[str, Any]) -> None:
    """TypeError unless `data` has the required keys of rule `code`'s data type and no key it does not declare."""
    required, declared = _declared_keys(data_type)
    missing, unknown = required - data.keys(), data.keys() - declared
    if missing or unknown:
        raise TypeError(
            f"{code} finding data does not match {data_type.__name__}: missing "
            f"{sorted(missing)}, undeclared {sorted(unknown)}"
        )


@cache
def _declared_keys(data_type: type) -> tuple[frozenset[str], frozenset[str]]:
    """(required keys, all keys) of a TypedDict. Read from its evaluated annotations: under `from __future__ import
    annotations` Python 3.11's own __required_keys__ misses NotRequired."""
    hints = get_type_hints(data_type, include_extras=True)
    optional = {key for key, hint in hints.items() if get_origin(hint) is NotRequired}
    return frozenset(hints.keys() - optional), frozenset(hints)


class ExportScriptRule(Rule):
    """A rule that reads torch.onnx.export calls in Python scripts."""

    inputs = frozenset({"script"})

    def skip_script_reason(self, ctx: ScriptContext) -> str | None:
        return no_export_call_reason(ctx)


def torchscript_exporter_may_run(call: ExportCall) -> bool:
    """Whether the call may use the TorchScript exporter, the only one that reads `training` and
    `do_constant_folding`: dynamo=False, or no dynamo argument (the default before torch 2.9)."""
    return call.literal("dynamo") is not True


def no_export_call_reason(ctx: ScriptContext) -> str | None:
    return None if ctx.exports else "no torch.onnx.export call found in the script"


class TargetRule(Rule):
    """A rule about what the deployment toolkit accepts; it runs only with --target."""

    def skip_reason(self, ctx: ModelContext | ScriptContext) -> str | None:
        return "no --target given" if ctx.settings.target is None else super().skip_reason(ctx)


class PlacementRule(TargetRule):
    """A target rule that reads where the toolkit places each node (the measured per-chip probe tables)."""

    def skip_reason(self, ctx: ModelContext | ScriptContext) -> str | None:
        reason = super().skip_reason(ctx)
        target = ctx.settings.target
        if reason is None and target is not None and target.knowledge is None:
            return f"no probe data for {target.chip} with {target.label}"
        return reason


class RunRule(Rule):
    """A rule that runs the model (onnxruntime, onnxsim): it runs only with --confirm, and its findings carry
    their own numeric evidence."""

    def skip_reason(self, ctx: ModelContext | ScriptContext) -> str | None:
        return "runs the model: needs --confirm" if ctx.settings.run is None else super().skip_reason(ctx)


class SelectorError(ValueError):
    pass


def resolve_selection(
    rules: Iterable[Rule], select: Iterable[str] | None, ignore: Iterable[str] | None
) -> tuple[Rule, ...]:
    """Rules chosen by --select (default ALL) minus --ignore; selectors are codes, family prefixes or slugs."""
    rules = tuple(rules)
    chosen = _matching(rules, select or ["ALL"])
    dropped = _matching(rules, ignore or [])
    return tuple(r for r in rules if r in chosen and r not in dropped)


def selected_codes(rules: Iterable[Rule], selectors: Iterable[str]) -> frozenset[str]:
    """Codes of the rules that codes, family prefixes or slugs name; SelectorError for an unknown one."""
    return frozenset(rule.code for rule in _matching(tuple(rules), selectors))


def _matching(rules: tuple[Rule, ...], selectors: Iterable[str]) -> set[Rule]:
    matched: set[Rule] = set()
    for selector in selectors:
        key = selector.strip()
        if key.upper() == "ALL":
            hits = set(rules)
        else:
            hits = {
                r
                for r in rules
                if r.code == key.upper() or r.name == key.lower() or (len(key) == 2 and r.family == key.upper())
            }
        if not hits:
            example = f"a code such as {rules[0].code}, " if rules else "a code, "
            raise SelectorError(
                f"unknown rule selector '{selector}' (use {example}"
                f"a family prefix such as {'/'.join(FAMILIES)}, or a slug; see 'onnxlint rules')"
            )
        matched |= hits
    return matched


def find_rule(rules: Iterable[Rule], key: str) -> Rule | None:
    for rule in rules:
        if rule.code == key.upper() or rule.name == key.lower():
            return rule
    return None
