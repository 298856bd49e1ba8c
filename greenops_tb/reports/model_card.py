"""Hugging Face model-card metadata: the ``co2_eq_emissions`` block, and merging it into a README's front matter.

The Hub's spec (https://huggingface.co/docs/hub/model-cards-co2) gives ``emissions`` in GRAMS of CO2
(CodeCarbon reports kg), plus ``source``, ``training_type``, ``geographical_location`` and ``hardware_used``.

:func:`merge` splices the block into the YAML front matter as text: the ``co2_eq_emissions`` key is replaced
(or appended at the end of the front matter, which is created when missing); every other byte of the file
stays as it was (comments, quoting, key order, line endings). The result is then parsed back, with
``huggingface_hub``'s :class:`~huggingface_hub.ModelCard` when it is installed (the ``hf`` extra), else with
PyYAML when installed, to check the block reads back and no other field changed. A byte-order mark stays in
front; a front matter that is never closed, YAML that does not parse or is not a mapping raise ValueError
saying what to fix (never a second front matter). ``huggingface_hub``'s ``metadata_save`` is not used: it
re-dumps the whole front matter, losing comments, quoting and line layout.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from greenops_tb.errors import UsageError
from greenops_tb.reports.facts import Facts

KEY = "co2_eq_emissions"
_BOM = "\ufeff"
_KEY_LINE = re.compile(rf"^{KEY}\s*:")


def block(f: Facts, *, source: str | None = None) -> dict[str, Any]:
    """The ``co2_eq_emissions`` mapping of a run (emissions in grams)."""
    provenance = ", ".join(sorted({d.provenance for d in f.devices}))
    return {
        "emissions": float(f"{f.co2_kg.value * 1000:.6g}"),
        "source": source or f"{f.tool} (energy: {provenance}; intensity: {f.intensity_source})" + _beside(f),
        "training_type": f.training_type,
        "geographical_location": f"{f.location_name} ({f.location})",
        "hardware_used": ", ".join(f.hardware),
    }


def _beside(f: Facts) -> str:
    """What ``emissions`` leaves out, said separately: the hardware's embodied emissions and the water."""
    fp = f.footprint
    if not fp or (fp.get("embodied_kg") is None and fp.get("water_offsite_l") is None):
        return ""
    said = []
    if fp.get("embodied_kg") is not None:
        said.append(f"embodied hardware emissions {fp['embodied_kg'] * 1000:.3g} g")
    water = [f"{fp[k]:.3g} L {where}" for k, where in (("water_onsite_l", "on-site"), ("water_offsite_l", "off-site"))
             if fp.get(k) is not None]
    if water:
        said.append("water " + " + ".join(water))
    return "; not included in emissions: " + ", ".join(said)


def _scalar(v: Any) -> str:
    """A YAML scalar: numbers plain, text double-quoted (a JSON string is a valid YAML one)."""
    return repr(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else json.dumps(str(v))


def to_yaml(data: Mapping[str, Any], nl: str = "\n") -> str:
    """``co2_eq_emissions:`` and its fields, two-space indented."""
    return f"{KEY}:{nl}" + "".join(f"  {k}: {_scalar(v)}{nl}" for k, v in data.items())


def front_matter(text: str) -> tuple[int, int] | None:
    """(start, end) character offsets of the front matter's body (between the ``---`` lines), or None when the
    card has none; ValueError when its opening ``---`` line is never closed."""
    m = re.match(r"---[ \t]*\r?\n", text)
    if not m:
        return None
    end = re.compile(r"^---[ \t]*(\r?\n|$)", re.M).search(text, m.end())
    if end is None:
        raise ValueError("the model card's front matter (the metadata block that starts with --- on line 1) is "
                         "never closed; add a line --- after its last field, then run again; nothing was written")
    return m.end(), end.start()


def _key_span(body: str) -> tuple[int, int] | None:
    """Offsets in ``body`` of the top-level ``co2_eq_emissions`` entry (key line and indented lines after it)."""
    lines = body.splitlines(keepends=True)
    pos, start, end = 0, None, 0
    for line in lines:
        if start is None and _KEY_LINE.match(line):
            start = end = pos
        elif start is not None and line.strip() and not line[:1].isspace():
            break
        if start is not None and line.strip():
            end = pos + len(line)
        pos += len(line)
    return None if start is None else (start, end)


def merge(text: str, data: Mapping[str, Any]) -> str:
    """``text`` (a model card) with its front matter's ``co2_eq_emissions`` set to ``data``; nothing else changes
    (a byte-order mark stays in front of the front matter)."""
    if text.startswith(_BOM):
        return _BOM + merge(text[1:], data)
    nl = "\r\n" if "\r\n" in text else "\n"
    new = to_yaml(data, nl)
    span = front_matter(text)
    if span is None:
        return f"---{nl}{new}---{nl}{text}"
    start, end = span
    body = text[start:end]
    key = _key_span(body)
    if key is not None:
        body = body[:key[0]] + new + body[key[1]:]
    else:
        body += new if not body or body.endswith("\n") else nl + new
    return text[:start] + body + text[end:]


def parse(text: str) -> dict[str, Any] | None:
    """The card's metadata as a dict (huggingface_hub, else PyYAML); None when neither is installed.
    ValueError, saying where, when the front matter is not YAML or not a mapping."""
    text = text.removeprefix(_BOM)
    try:
        import yaml
    except ImportError:
        return None
    try:
        try:
            from huggingface_hub import ModelCard
        except ImportError:
            span = front_matter(text)
            found = (yaml.safe_load(text[span[0]:span[1]]) or {}) if span else {}
        else:
            found = ModelCard(text, ignore_metadata_errors=True).data.to_dict()
    except yaml.YAMLError as err:
        raise ValueError(f"the model card's front matter is not valid YAML ({_where(err, text)}); fix it, then run "
                         "again; nothing was written") from None
    except ValueError:  # huggingface_hub's "metadata block should be a dict"
        found = None
    if not isinstance(found, dict):
        raise ValueError("the model card's front matter is not a mapping of fields (name: value lines); fix it, "
                         "then run again; nothing was written")
    return found


def _where(err: Exception, text: str) -> str:
    """A YAML error in one line: its problem and on which line of the card."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return problem
    span = front_matter(text)
    return f"{problem}, line {text.count(chr(10), 0, span[0] if span else 0) + mark.line + 1}"


def update(text: str, data: Mapping[str, Any]) -> str:
    """:func:`merge`, checked by parsing both versions: ValueError if the block or any other field differs."""
    merged = merge(text, data)
    before, after = parse(text), parse(merged)
    if after is None:
        return merged  # no YAML parser installed: the splice is textual and leaves the rest untouched
    if dict(after.get(KEY) or {}) != dict(data):
        raise UsageError(f"the merged model card does not read back its {KEY} block; is its front matter valid YAML?")
    others = {k: v for k, v in (before or {}).items() if k != KEY}
    if {k: v for k, v in after.items() if k != KEY} != others:
        raise UsageError("merging would change other metadata fields of the model card; nothing was written")
    return merged
