"""Reports of a run: a paper-ready statement (Markdown, LaTeX), the facts as JSON, the Hugging Face model-card
``co2_eq_emissions`` block and a CodeCarbon-compatible ``emissions.csv``; all from one :class:`~.facts.Facts`."""
from __future__ import annotations

import json
from dataclasses import asdict

from greenops_tb.analysis.run_summary import json_safe
from greenops_tb.errors import UsageError
from greenops_tb.readers.events import RunData
from greenops_tb.reports import codecarbon, model_card, statement
from greenops_tb.reports.facts import Facts, facts

FORMATS = ("markdown", "latex", "json", "model-card", "codecarbon")

__all__ = ["FORMATS", "Facts", "facts", "render"]


def render(data: RunData, fmt: str = "markdown", *, training_type: str | None = None, standalone: bool = False,
           source: str | None = None) -> str:
    """The report of ``data`` in ``fmt`` (one of :data:`FORMATS`) as text."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    f = facts(data, training=training_type)
    if fmt == "markdown":
        return statement.markdown(f)
    if fmt == "latex":
        return statement.latex(f, standalone=standalone)
    if fmt == "json":
        return json.dumps(json_safe(asdict(f)), indent=1) + "\n"
    if fmt == "model-card":
        return "---\n" + model_card.to_yaml(model_card.block(f, source=source)) + "---\n"
    return codecarbon.to_csv([codecarbon.row(data, f)])
