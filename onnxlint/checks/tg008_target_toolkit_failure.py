from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.toolkit_build import BuildFails, ToolkitBuild, message_tail
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, TargetRule
from onnxlint.rknn.buildfail import PATTERNS


class TargetToolkitFailureData(TypedDict):
    failure: str  # the build-failure entry's id
    fusion_rule: str | None
    toolkit_message: str
    disable_rules: list[str]
    rknn_config: str | None
    load_onnx_outputs: list[str] | None
    nodes: list[str]
    matches: int
    chip: str
    toolkit: str
    outcome: str


def _build_claim(data: TargetToolkitFailureData) -> BuildFails:
    """The build fails with the recorded message, or in the recorded fusion rule (the log names it)."""
    rule = data["fusion_rule"]
    return BuildFails(words=(message_tail(data["toolkit_message"]),), log_words=(f"'{rule}'",) if rule else ())


class TargetToolkitFailure(TargetRule):
    code = "TG008"
    name = "target-toolkit-failure"
    summary = "A subgraph pattern that makes this toolkit version's build fail, with the configuration that builds"
    severity = Severity.ERROR
    data_type = TargetToolkitFailureData
    confirmer = ToolkitBuild(claim=_build_claim)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.target.toolkit, ctx.target.chip
        for failure in ctx.target.build_failures:  # those verified on other chips only claim nothing here
            matches = list(PATTERNS[failure.pattern](ctx))
            if not matches:
                continue
            first = matches[0]
            rules = failure.workaround.get("disable_rules")
            config = f"rknn.config(target_platform='{chip}', disable_rules={rules!r})" if rules else None
            where = f" in fusion rule '{failure.fusion_rule}'" if failure.fusion_rule else ""
            heads = [h.rknn_outputs for h in ctx.heads] if failure.workaround.get("cut") == "head" else []
            cut = f"; or rknn.load_onnx(model=..., outputs={heads[0]!r})" if heads else ""
            message = failure.message.replace("<node>", first[0].name)
            count = f"; the model has {len(matches)} such places" if len(matches) > 1 else ""
            yield self.finding(
                f"{failure.says}: {facts.label}'s build for {chip} fails{where} with '{message}' "
                f"(verified with {failure.verified}){count}",
                node=first[0],
                related=[(ctx.main, node) for node in [*first[1:], *(m[0] for m in matches[1:])]],
                fix=(
                    f"{config}{cut} ({failure.workaround['text']})"
                    if config
                    else failure.workaround["text"][:1].upper() + failure.workaround["text"][1:]
                ),
                data={
                    "failure": failure.id,
                    "fusion_rule": failure.fusion_rule,
                    "toolkit_message": message,
                    "disable_rules": list(rules or []),
                    "rknn_config": config,
                    "load_onnx_outputs": heads[0] if heads else None,
                    "nodes": [node.name for match in matches for node in match],
                    "matches": len(matches),
                    "chip": chip,
                    "toolkit": facts.label,
                    "outcome": "unsupported",
                },
            )
