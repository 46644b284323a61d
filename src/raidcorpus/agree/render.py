"""Rendering of the agreement report: the measures' names, the legend, and the table,
markdown and JSON formats (text formats section by section, so a report can be streamed)."""

from __future__ import annotations

import math

from .items import ALL

MEASURES = {
    "entity_exact": "entity span F1, exact",
    "entity_overlap": "entity span F1, overlap",
    "entity_ualpha": "entity spans, unitizing alpha",
    "trigger": "event trigger F1",
    "trigger_ualpha": "event triggers, unitizing alpha",
    "argument": "argument F1",
    "entity_attribute": "entity attribute",
    "event_attribute": "event attribute",
    "coref_entity_muc": "entity coreference MUC F1",
    "coref_entity_b3": "entity coreference B-cubed F1",
    "coref_event_muc": "event coreference MUC F1",
    "coref_event_b3": "event coreference B-cubed F1",
}

LEGEND = [
    "Items align on keys, never on annotator ids: entities on (type, start, end); events on (type, trigger start, end); "
    "arguments on (event key, role, filler entity key), so a filler matches only through an exactly aligned entity.",
    "F1 = 2 * matched / (n_a + n_b) for a pair of annotators (precision and recall of one against the other); "
    "with more than two annotators the figure is the mean over pairs. Counts are summed over documents (micro).",
    "Overlap F1: same type and overlapping spans, matched one-to-one, largest overlap first.",
    "Attributes are compared on items both (all) annotators have; an unset attribute counts as the value '(none)'. "
    "Two annotators: Cohen's kappa (computed here); more: Krippendorff's alpha, nominal (its coincidence formula, summed here; "
    "tested against the 'krippendorff' package). "
    "n/a when fewer than two distinct values occur (chance agreement is 1).",
    "Coreference is compared on mentions both annotators have, each annotator's clusters restricted to them: "
    "MUC (Vilain et al. 1995, link based) and B-cubed (Bagga and Baldwin 1998, over every shared mention, singletons "
    "included); both n/a when neither annotator links any two shared mentions.",
    "Unitizing alpha: Krippendorff's u-alpha (Krippendorff 2004, Content Analysis, 2nd ed.) over the "
    "document text as continuum, one category per type, computed by this project (no maintained library provides it; "
    "tested against Krippendorff's worked examples, e.g. alpha = 0.859). Overlapping spans of one type by one annotator are "
    "merged; documents are concatenated into one continuum; 'all' is 1 - sum(Do) / sum(De) over types.",
    "n/a: no items on either side (or no variation); never read as 1.0.",
]



# -- rendering -----------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def counts_text(row: dict) -> str:
    """The counts behind a figure, in words short enough for a table cell."""
    if "items" in row:
        return f"items={row['items']} agreed={row['agreed']}"
    parts = []
    for p in row["pairs"]:
        if row["statistic"] == "F1":
            parts.append(f"{p['a']}={p['n_a']} {p['b']}={p['n_b']} matched={p['matched']}")
        elif row["statistic"] == "u-alpha":
            parts.append(f"{p['a']}/{p['b']}: units={p['units']} length={p['length']} Do={p['observed']:.4f} De={p['expected']:.4f}")
        else:
            extra = f" P={_fmt(p['precision'])} R={_fmt(p['recall'])}" if p["value"] is not None else ""
            parts.append(f"{p['a']}/{p['b']}: links {p['links_a']}/{p['links_b']} on {p['mentions']} shared mentions{extra}")
    if len(row["pairs"]) > 1 and row["statistic"] == "F1":
        parts = [f"{p['a']}/{p['b']} {_fmt(p['value'])}: {p['n_a']}/{p['n_b']} matched {p['matched']}" for p in row["pairs"]]
        return "mean of pairs; " + "; ".join(parts)
    return "; ".join(parts)


def _has_items(row: dict) -> bool:
    if row["label"] == ALL or "items" in row:
        return True
    if row["statistic"] == "F1":
        return any(p["n_a"] + p["n_b"] for p in row["pairs"])
    if row["statistic"] == "u-alpha":
        return any(p["units"] for p in row["pairs"])
    return True


def table_rows(rows: list[dict], compact: bool) -> list[tuple[str, str, str, str]]:
    out = []
    for row in rows:
        if compact and not _has_items(row):
            continue
        name = MEASURES[row["measure"]]
        if row["measure"].endswith("_attribute"):
            name += f" ({row['statistic']})"
        out.append((name, row["label"], _fmt(row["value"]), counts_text(row)))
    return out


def _count(report: dict) -> int:
    return report.get("document_count", len(report["documents"]))


def document_section(d: dict) -> tuple[str, list[tuple[str, str, str, str]], list[str]]:
    return f"{d['document']} ({', '.join(d['annotators'])})", table_rows(d["rows"], True), d["notes"]


def _overall_sections(report: dict) -> list[tuple[str, list[tuple[str, str, str, str]], list[str]]]:
    if not _count(report):
        return []
    title = f"overall: documents {_count(report)}, annotators {', '.join(report['annotators'])}"
    return [(title, table_rows(report["overall"], False), [])]


def _table_section(title: str, rows: list, notes: list[str]) -> list[str]:
    head = ("measure", "label", "value", "counts")
    lines = [f"== {title} =="]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for r in [head, *rows]:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    lines += [f"note: {n}" for n in notes]
    lines.append("")
    return lines


def _table_tail(report: dict) -> list[str]:
    lines = [line for section in _overall_sections(report) for line in _table_section(*section)]
    lines += [f"skipped {s['document']}: {s['reason']} ({', '.join(s['annotators'])})" for s in report["skipped"]]
    if not _count(report):
        lines.append("no document has two or more annotator layers: nothing to compare")
    lines.append("")
    lines.append("legend:")
    lines += [f"- {item}" for item in report["legend"]]
    return lines


def _markdown_section(title: str, rows: list, notes: list[str]) -> list[str]:
    lines = [f"## {title}", "", "| measure | label | value | counts |", "| --- | --- | ---: | --- |"]
    lines += [f"| {a} | {b} | {c} | {d.replace('|', '/')} |" for a, b, c, d in rows]
    lines += [""] + [f"Note: {n}" for n in notes] + ([""] if notes else [])
    return lines


def _markdown_tail(report: dict) -> list[str]:
    lines = [line for section in _overall_sections(report) for line in _markdown_section(*section)]
    if report["skipped"]:
        lines += ["## Skipped", ""] + [f"- {s['document']}: {s['reason']} ({', '.join(s['annotators'])})" for s in report["skipped"]] + [""]
    if not _count(report):
        lines += ["No document has two or more annotator layers: nothing to compare.", ""]
    lines += ["## Legend", ""] + [f"- {item}" for item in report["legend"]]
    return lines


# format -> (lines before the documents, a document's lines, lines after them)
TEXT_FORMATS = {
    "table": ([], _table_section, _table_tail),
    "markdown": (["# Inter-annotator agreement", ""], _markdown_section, _markdown_tail),
}


def render_table(report: dict) -> str:
    return _render_text("table", report)


def render_markdown(report: dict) -> str:
    return _render_text("markdown", report)


def _render_text(fmt: str, report: dict) -> str:
    head, section, tail = TEXT_FORMATS[fmt]
    lines = list(head)
    for d in report["documents"]:
        lines += section(*document_section(d))
    return "\n".join(lines + tail(report)) + "\n"


def render_json(report: dict) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"


RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}
