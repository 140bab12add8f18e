from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypedDict

from onnxlint.analysis.exportscript import ExportCall
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule, ScriptContext, no_export_call_reason, normalize_dynamic_axes


class DynamicAxesKeyMismatchData(TypedDict):
    key: str
    suggestion: str | None
    names: list[str]


class DynamicAxesKeyMismatch(Rule):
    code = "IO005"
    name = "dynamic-axes-key-mismatch"
    summary = "A dynamic_axes key names no input or output, so torch silently exports static dims"
    severity = Severity.ERROR
    data_type = DynamicAxesKeyMismatchData
    inputs = frozenset({"model", "script"})

    def skip_script_reason(self, ctx: ScriptContext) -> str | None:
        if not ctx.exports:
            return no_export_call_reason(ctx)
        if all(_checkable(call) is None for call in ctx.exports):
            return (
                "no torch.onnx.export call gives input_names, output_names and dynamic_axes as literals "
                "(names torch picks itself cannot be checked statically)"
            )
        return None

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        return None if ctx.settings.dynamic_axes is not None else "no --dynamic-axes given for the .onnx model"

    def check_script(self, ctx: ScriptContext) -> Iterator[Finding]:
        for call in ctx.exports:
            checkable = _checkable(call)
            if checkable is None:
                continue
            spec, names = checkable
            for key, suggestion in _unknown_keys(spec, names):
                yield self._key_finding(
                    key, suggestion, names, line=call.line, known=f"input_names + output_names {names}"
                )

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        names = [v.name for v in ctx.model.declared_inputs] + [v.name for v in ctx.model.declared_outputs]
        for key, suggestion in _unknown_keys(ctx.settings.dynamic_axes or {}, names):
            yield self._key_finding(key, suggestion, names, line=None, known=f"the model's inputs and outputs {names}")

    def _key_finding(
        self, key: str, suggestion: str | None, names: list[str], *, line: int | None, known: str
    ) -> Finding:
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        return self.finding(
            f"dynamic_axes key '{key}' matches none of {known}{hint}",
            tensor=key,
            line=line,
            fix=f"Rename the key to '{suggestion}'"
            if suggestion
            else "Use exactly the names given in input_names/output_names as dynamic_axes keys",
            data={"key": key, "suggestion": suggestion, "names": names},
        )


def _checkable(call: ExportCall) -> tuple[dict[str, dict[int, str | None]], list[str]] | None:
    """All the rule needs: a well-formed dynamic_axes and literal input_names and output_names (their names in
    one list), or None."""
    try:
        spec = normalize_dynamic_axes(call.literal("dynamic_axes"))
    except ValueError:
        return None
    names = _declared_names(call)
    return None if names is None else (spec, names)


def _declared_names(call: ExportCall) -> list[str] | None:
    """input_names + output_names when both are literal lists of strings (else torch picks names we can't see)."""
    inputs, outputs = call.literal("input_names"), call.literal("output_names")
    if not all(isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v) for v in (inputs, outputs)):
        return None
    return [*inputs, *outputs]


def _unknown_keys(spec: Mapping[str, Any], names: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    names = list(names)
    for key in spec:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
            yield key, (close[0] if close else None)
