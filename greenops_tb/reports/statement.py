"""A paper-ready environmental impact statement of one run, in Markdown or LaTeX.

Prior art: experiment-impact-tracker's generated LaTeX paragraph (Henderson et al. 2020) and the ML CO2
Impact calculator's template (Lacoste et al. 2019). Beyond them this statement gives a range for every
total (and how it was derived), how the location was chosen, the intensity's dataset, year and basis,
the PUE and whether it was given or assumed, and the provenance of each device's energy.
Both formats are rendered from the same sentences and rows (:func:`sentences`, :func:`rows`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from greenops_tb.analysis.uncertainty import Range
from greenops_tb.reports.facts import Facts

METHOD_URL = "docs/METHOD.md"


def _kwh(x: float) -> str:
    return f"{x:.3g}"


def _kg(x: float) -> str:
    return f"{x:.3g}"


def _range(r: Range, fmt: Callable[[float], str], dash: str) -> str:
    return f"{fmt(r.low)}{dash}{fmt(r.high)}"


def _date(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def sentences(f: Facts, dash: str, co2: str, strong: Callable[[str], str]) -> list[str]:
    """The statement's paragraph, sentence by sentence (``dash`` for ranges, ``co2`` the CO2e symbol)."""
    hours = f.duration_s / 3600
    pue = (f"PUE {f.pue:g}, assumed (no data-centre overhead counted)" if f.pue_assumed
           else f"PUE {f.pue:g}, as given")
    year = f", {f.intensity_year}" if f.intensity_year else ""
    out = [
        f"The run {f.run} ({f.training_type}, stages {', '.join(s.stage for s in f.stages)}) took {hours:.3g} h "
        f"from {_date(f.start_time)} on {', '.join(f.hardware)}.",
        f"It used {_kwh(f.energy_kwh.value)} kWh at the devices ({_range(f.energy_kwh, _kwh, dash)}) and "
        f"{_kwh(f.facility_energy_kwh.value)} kWh with the facility overhead ({pue}).",
        f"The location was {f.location_name} ({f.location}; chosen by {f.location_source}), with a grid carbon "
        f"intensity of {f.carbon_intensity_g_per_kwh:.4g} g{co2}/kWh ({f.intensity_source}{year}, "
        f"{f.intensity_basis or 'unknown'} basis).",
        f"The run emitted {strong(f'{_kg(f.co2_kg.value)} kg {co2}')} ({_range(f.co2_kg, _kg, dash)} kg).",
    ]
    if f.footprint:
        out.append(footprint_sentence(f.footprint, co2))
    if f.cost is None:
        out.append("No electricity price was known, so no cost is given.")
    else:
        out.append(f"At {f.price_source} prices it cost {f.cost.value:.3g} {f.currency} "
                   f"({_range(f.cost, lambda x: f'{x:.3g}', dash)}).")
    out.append("Energy per device: " + "; ".join(
        f"{d.device} {d.name}: {d.provenance} ({'measured' if d.measured else 'modelled'})" for d in f.devices) + ".")
    out.append(f"Ranges combine measurement, PUE and grid uncertainties ({f.uncertainty_rule}). "
               f"Measured with {f.tool}.")
    if not f.complete:
        out.append("Some intervals were not kept by TensorBoard; totals are exact, device splits are scaled.")
    return out


def rows(f: Facts, dash: str, co2: str) -> list[tuple[str, str, str, str]]:
    """(quantity, value, range, source) rows of the summary table."""
    out = [
        ("Duration", f"{f.duration_s / 3600:.3g} h", "", "monotonic clock"),
        ("Energy (devices)", f"{_kwh(f.energy_kwh.value)} kWh", _range(f.energy_kwh, _kwh, dash),
         ", ".join(sorted({d.provenance for d in f.devices}))),
        ("Energy (facility)", f"{_kwh(f.facility_energy_kwh.value)} kWh", _range(f.facility_energy_kwh, _kwh, dash),
         f"PUE {f.pue:g} ({'assumed' if f.pue_assumed else 'given'})"),
        ("Carbon intensity", f"{f.carbon_intensity_g_per_kwh:.4g} g{co2}/kWh", "",
         f"{f.intensity_source} ({f.intensity_basis})"),
        (f"Emissions ({co2})", f"{_kg(f.co2_kg.value)} kg", _range(f.co2_kg, _kg, dash), f.tool),
    ]
    if f.cost is not None:
        out.append(("Cost", f"{f.cost.value:.3g} {f.currency}", _range(f.cost, lambda x: f"{x:.3g}", dash),
                    f.price_source))
    out += [(f"Stage {s.stage}", f"{_kwh(s.energy_kwh.value)} kWh, {_kg(s.co2_kg.value)} kg",
             f"{_range(s.co2_kg, _kg, dash)} kg", "") for s in f.stages]
    out += [(f"Efficiency ({k})", v, "", "") for k, v in f.extra.get("efficiency_text", {}).items()]
    if f.footprint:
        out += footprint_rows(f.footprint, co2)
    return out


def _known(x: float | None, unit: str) -> str:
    return "unknown" if x is None else f"{x:.3g} {unit}"


def footprint_sentence(fp: Mapping[str, Any], co2: str) -> str:
    """Embodied emissions and water, said apart from the emissions above (never added into them)."""
    parts = "; ".join(f"{p['part']} {p['label']}" for p in fp["embodied_parts"])
    life = (f", {fp['lifetime_years']:g}-year lifetime at {fp['utilisation']:.0%} utilisation"
            if fp.get("lifetime_years") else "")
    return (f"Not included in that figure: the manufacturing (embodied) emissions of the hardware, amortised over "
            f"the run, {_known(fp['embodied_kg'], 'kg ' + co2)} ({parts}{life}); and the water behind the "
            f"electricity, {_known(fp['water_onsite_l'], 'L')} on-site (WUE {fp['wue_label']}) and "
            f"{_known(fp['water_offsite_l'], 'L')} off-site (grid mix x water consumption factors).")


def footprint_rows(fp: Mapping[str, Any], co2: str) -> list[tuple[str, str, str, str]]:
    """The footprint's rows of the summary table, each labelled as not part of the emissions."""
    parts = ", ".join(p["label"] for p in fp["embodied_parts"])
    return [
        (f"Embodied emissions ({co2}), not included above", _known(fp["embodied_kg"], "kg"), "", parts),
        ("Water on-site", _known(fp["water_onsite_l"], "L"), "", f"IT energy x WUE ({fp['wue_label']})"),
        ("Water off-site", _known(fp["water_offsite_l"], "L"), "", "grid mix x Macknick et al. 2012 factors"),
    ]


def markdown(f: Facts) -> str:
    """The statement as Markdown: a paragraph, a table, data sources and uncertainty factors."""
    co2 = "CO2e"
    lines = ["## Environmental impact", "", " ".join(sentences(f, "-", co2, lambda t: f"**{t}**")), "",
             "| Quantity | Value | Range | Source |", "|---|---|---|---|"]
    lines += [f"| {q} | {v} | {r} | {s} |" for q, v, r, s in rows(f, "-", co2)]
    lines += ["", "Data sources:", ""] + [f"- {c}" for c in f.citations]
    lines += ["", f"Uncertainty factors (method: {METHOD_URL}):", ""]
    lines += [f"- {x['name']}: -{x['low']:.0%} / +{x['high']:.0%} ({x['source']})" for x in f.uncertainty_factors]
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}
_CO2_MARK = "\x00CO2\x00"


def tex_escape(text: str) -> str:
    """``text`` safe in LaTeX body text (special characters escaped, non-ASCII left to the inputenc)."""
    return "".join(_TEX.get(c, c) for c in text)


def _tex(text: str) -> str:
    return tex_escape(text).replace(_CO2_MARK, r"CO\textsubscript{2}e").replace("\x01", "--")


def latex(f: Facts, *, standalone: bool = False) -> str:
    """The statement as LaTeX (a paragraph and a table for ``\\input``; ``standalone`` wraps a document)."""
    para = " ".join(sentences(f, "\x01", _CO2_MARK, lambda t: "\x02" + t + "\x03"))
    body = [r"\paragraph{Environmental impact.}",
            _tex(para).replace("\x02", r"\textbf{").replace("\x03", "}"), "",
            r"\begin{table}[h]", r"\centering", r"\begin{tabular}{lllp{5cm}}", r"\hline",
            r"Quantity & Value & Range & Source \\", r"\hline"]
    body += [" & ".join(_tex(c) for c in row) + r" \\" for row in rows(f, "\x01", _CO2_MARK)]
    body += [r"\hline", r"\end{tabular}",
             r"\caption{Energy and emissions of run " + _tex(f.run) + r"; ranges as in " + _tex(METHOD_URL) + ".}",
             r"\end{table}", "", r"\noindent Data sources: " + _tex("; ".join(f.citations)) + "."]
    text = "\n".join(body) + "\n"
    if standalone:
        text = ("\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n"
                "\\begin{document}\n" + text + "\\end{document}\n")
    return text
