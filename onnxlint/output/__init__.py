"""Output formats: one module per format. The engine never formats.

Every format renders lint reports (`lint(reports, stream, rules)`); text and json also render the other
commands (`rules`, `explain`, `inspect`).
"""

from onnxlint.output import github, json_format, sarif, text

FORMATS = {"text": text, "json": json_format, "sarif": sarif, "github": github}
LINT_FORMATS = tuple(FORMATS)
COMMAND_FORMATS = ("text", "json")
