"""Read `torch.onnx.export(...)` calls out of a Python script with `ast` (never executed).

Only literal arguments are understood: literals written in the call, or a name assigned a literal
earlier in the same function or at module level. Anything else is `UNRESOLVED`, and rules treat an
unresolved argument as unknown rather than guessing.
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import MAX_TEXT_BYTES, decode, read_bytes

EXPORT_FUNCTION = "torch.onnx.export"
# Positional parameters after (model, args, f) in torch 1.x, where they were not yet keyword-only.
LEGACY_POSITIONAL = (
    "export_params",
    "verbose",
    "training",
    "input_names",
    "output_names",
    "operator_export_type",
    "opset_version",
    "do_constant_folding",
    "dynamic_axes",
)
TOO_DEEP = "nested too deeply to analyse"


class ScriptError(UnreadableInput):
    """A Python file that cannot be read or parsed."""


@dataclass(frozen=True)
class Symbol:
    """A name or attribute chain written in the call, e.g. torch.onnx.TrainingMode.TRAINING."""

    dotted: str

    @property
    def last(self) -> str:
        return self.dotted.rsplit(".", 1)[-1]


class _Unresolved:
    def __repr__(self) -> str:
        return "UNRESOLVED"


UNRESOLVED = _Unresolved()


@dataclass(frozen=True)
class ExportCall:
    line: int
    arguments: Mapping[str, Any] = field(default_factory=dict)
    # True when the call passes **kwargs: absent arguments may then be set after all.
    has_star_kwargs: bool = False

    def given(self, name: str) -> bool:
        return name in self.arguments

    def literal(self, name: str, default: Any = None) -> Any:
        """The argument's value if it is known, else `default` (also for UNRESOLVED)."""
        value = self.arguments.get(name, default)
        return default if value is UNRESOLVED else value


def parse_export_script(path: str | os.PathLike) -> tuple[ExportCall, ...]:
    try:
        data = read_bytes(path, MAX_TEXT_BYTES)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)  # a PEP 263 coding line, or a BOM
        source = decode(path, data, encoding)
    except UnreadableInput as exc:
        raise ScriptError(path, exc.reason) from None
    except SyntaxError as exc:  # an unknown or contradictory coding line
        raise ScriptError(path, f"not a valid Python file ({exc.msg})") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}: " if line else ""
        raise ScriptError(path, f"not a valid Python file ({where}{getattr(exc, 'msg', exc)})") from None
    except (RecursionError, MemoryError):  # how the parser answers absurdly nested expressions
        raise ScriptError(path, TOO_DEEP) from None
    try:
        return tuple(_ExportFinder(tree).calls)
    except RecursionError:  # nesting the parser accepts can still exceed the visitor's recursion limit
        raise ScriptError(path, TOO_DEEP) from None


class _ExportFinder(ast.NodeVisitor):
    def __init__(self, tree: ast.Module):
        self.aliases: dict[str, str] = {}
        self.calls: list[ExportCall] = []
        self.scopes: list[ast.AST] = [tree]
        self.visit(tree)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        if self._qualified(node.func) == EXPORT_FUNCTION:
            self.calls.append(self._export_call(node))
        self.generic_visit(node)

    def _qualified(self, expr: ast.AST) -> str | None:
        dotted = _dotted(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        resolved = self.aliases.get(head)
        if resolved is None:
            return None
        return f"{resolved}.{rest}" if rest else resolved

    def _export_call(self, call: ast.Call) -> ExportCall:
        arguments: dict[str, Any] = {}
        for name, expr in zip(LEGACY_POSITIONAL, call.args[3:]):
            arguments[name] = self._value(expr, call.lineno)
        star = False
        for keyword in call.keywords:
            if keyword.arg is None:
                star = True
            else:
                arguments[keyword.arg] = self._value(keyword.value, call.lineno)
        return ExportCall(line=call.lineno, arguments=arguments, has_star_kwargs=star)

    def _value(self, expr: ast.AST, before_line: int) -> Any:
        try:
            return ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        if isinstance(expr, ast.Name):
            assigned = self._assigned_literal(expr.id, before_line)
            if assigned is not UNRESOLVED:
                return assigned
        if isinstance(expr, ast.Attribute):
            dotted = _dotted(expr)
            if dotted:
                return Symbol(self._qualified(expr) or dotted)
        if isinstance(expr, ast.Name) and expr.id in self.aliases:
            return Symbol(self.aliases[expr.id])
        return UNRESOLVED

    def _assigned_literal(self, name: str, before_line: int) -> Any:
        """The literal last assigned to `name` before the call, innermost scope first."""
        for scope in reversed(self.scopes):
            latest = None
            for statement in _own_statements(scope):
                if (
                    isinstance(statement, ast.Assign)
                    and statement.lineno < before_line
                    and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
                    and (latest is None or statement.lineno > latest.lineno)
                ):
                    latest = statement
            if latest is not None:
                try:
                    return ast.literal_eval(latest.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    return UNRESOLVED
        return UNRESOLVED


def _own_statements(scope: ast.AST):
    """Every node in a scope's body, not descending into nested function or class definitions."""
    pending = list(getattr(scope, "body", []))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))


def _dotted(expr: ast.AST) -> str | None:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))
