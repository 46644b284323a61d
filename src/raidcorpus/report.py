"""A corpus anyone can look at: static HTML pages of the gold layer and the agreement, no server.

`raidcorpus report --out DIR` writes DIR/index.html (documents, their counts and agreement, and
agreement plots per type and per document as inline SVG made with matplotlib) and one page per
document, DIR/docs/<doc>.html: the text with each gold entity coloured by type (the colours of the
labelling config) and each trigger underlined, then the entities, the events with their trigger,
arguments and attributes, the coreference chains and, for a MUC-4 message with a key, its
templates beside the text. Article text is hostile input: everything is escaped, and every page
forbids scripts (Content-Security-Policy), so a page can only show what is in it.
"""

from __future__ import annotations

import html
import io as stdio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from . import agree, fileio, muckeys, ontology
from .agree.items import ALL
from .errors import UserError
from .align import NOT_LAYERS
from .ls_config import ENTITY_COLOURS, EVENT_COLOURS
from .records import Reader
from .recommend import KEY_FILE

DOCS = "docs"  # DIR/docs/<doc>.html
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.cols{display:flex;gap:24px;align-items:flex-start}.text{flex:1;white-space:pre-wrap;min-width:0}.side{width:420px;flex:none}
.seg.ev{border-bottom:3px solid var(--ev);font-weight:600}.chip{padding:0 4px;border-radius:3px}
.legend span{margin-right:8px}h2{margin-top:28px}.na{color:#888}
"""


def esc(value) -> str:
    """HTML-escaped text (quotes too, so a value is safe inside an attribute)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def colours(onto: ontology.Ontology) -> dict[str, str]:
    """Type -> colour, the labelling config's (ls_config), so a type looks the same in both."""
    out = {t: ENTITY_COLOURS[i % len(ENTITY_COLOURS)] for i, t in enumerate(onto.entity_names)}
    out.update({t: EVENT_COLOURS[i % len(EVENT_COLOURS)] for i, t in enumerate(onto.event_names)})
    return out


# --- one document -------------------------------------------------------------------------------


def segments(text: str, gold: dict) -> list[tuple[int, int, list[dict], list[dict]]]:
    """The text cut at every span boundary: (start, end, entities covering it, events whose trigger covers it)."""
    cuts = {0, len(text)}
    for e in gold["entities"]:
        cuts |= {e["start"], e["end"]}
    for v in gold["events"]:
        cuts |= {v["trigger"]["start"], v["trigger"]["end"]}
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:]):
        ents = [e for e in gold["entities"] if e["start"] <= a and b <= e["end"]]
        evs = [v for v in gold["events"] if v["trigger"]["start"] <= a and b <= v["trigger"]["end"]]
        out.append((a, b, sorted(ents, key=lambda e: e["end"] - e["start"]), evs))
    return out


def text_html(text: str, gold: dict, colour: dict[str, str]) -> str:
    """The text, each piece in a span naming every gold item over it (data-ids); the innermost entity gives
    the background, a trigger the underline. Nested and crossing spans stay exact this way."""
    parts = []
    for a, b, ents, evs in segments(text, gold):
        piece = esc(text[a:b])
        if not ents and not evs:
            parts.append(piece)
            continue
        ids = " ".join([e["id"] for e in ents] + [v["id"] for v in evs])
        tip = "; ".join([f"{e['type']} {e['id']}" for e in ents] + [f"{v['type']} {v['id']}" for v in evs])
        style = f"background:{colour.get(ents[0]['type'], '#ddd')}66;" if ents else ""
        style += f"--ev:{colour.get(evs[0]['type'], '#333')}" if evs else ""
        cls = "seg ev" if evs else "seg"
        parts.append(f'<span class="{cls}" data-ids="{esc(ids)}" title="{esc(tip)}" style="{esc(style)}">{piece}</span>')
    return "".join(parts)


def _chip(label: str, colour: dict[str, str]) -> str:
    """A type's name on its colour, in white on a dark colour."""
    bg = colour.get(label, "#dddddd")
    r, g, b = (int(bg[i:i + 2], 16) for i in (1, 3, 5))
    ink = "#fff" if 0.299 * r + 0.587 * g + 0.114 * b < 128 else "#000"
    return f'<span class="chip" style="background:{esc(bg)};color:{ink}">{esc(label)}</span>'


def _attrs(item: dict) -> str:
    return ", ".join(f"{esc(k)}={esc(v)}" for k, v in sorted(item.get("attributes", {}).items())) or '<span class="na">none</span>'


def entities_html(gold: dict, colour: dict[str, str]) -> str:
    rows = [f'<tr data-item="{esc(e["id"])}"><td>{esc(e["id"])}</td><td>{_chip(e["type"], colour)}</td><td>{esc(e["text"])}</td>'
            f'<td>{e["start"]}-{e["end"]}</td><td>{_attrs(e)}</td><td>{esc("" if e.get("normalized") is None else e["normalized"])}</td></tr>'
            for e in gold["entities"]]
    head = "<tr><th>id</th><th>type</th><th>text</th><th>offsets</th><th>attributes</th><th>normalized</th></tr>"
    return f"<h2>Entities ({len(rows)})</h2><table>{head}{''.join(rows)}</table>"


def events_html(gold: dict, colour: dict[str, str]) -> str:
    by_id = {e["id"]: e for e in gold["entities"]}
    rows = []
    for v in gold["events"]:
        args = "<br>".join(f'{esc(a["role"])}: {esc(by_id[a["entity"]]["text"]) if a["entity"] in by_id else "?"} '
                           f'<span class="na">[{esc(a["entity"])}]</span>' for a in v["arguments"]) or '<span class="na">none</span>'
        t = v["trigger"]
        rows.append(f'<tr data-item="{esc(v["id"])}"><td>{esc(v["id"])}</td><td>{_chip(v["type"], colour)}</td><td>{esc(t["text"])}</td>'
                    f'<td>{t["start"]}-{t["end"]}</td><td>{args}</td><td>{_attrs(v)}</td></tr>')
    head = "<tr><th>id</th><th>type</th><th>trigger</th><th>offsets</th><th>arguments</th><th>attributes</th></tr>"
    return f"<h2>Events ({len(rows)})</h2><table>{head}{''.join(rows)}</table>"


def chains_html(gold: dict) -> str:
    """Coreference chains, each as its mentions' texts in order."""
    texts = {e["id"]: e["text"] for e in gold["entities"]} | {v["id"]: v["trigger"]["text"] for v in gold["events"]}
    parts = []
    for key, title in (("entity_clusters", "Entity coreference chains"), ("event_clusters", "Event coreference chains")):
        rows = [f'<tr data-item="{esc(c["id"])}"><td>{esc(c["id"])}</td><td>'
                + " &mdash; ".join(f'{esc(texts.get(m, "?"))} <span class="na">[{esc(m)}]</span>' for m in c["members"]) + "</td></tr>"
                for c in gold.get(key, ())]
        parts.append(f"<h2>{title} ({len(rows)})</h2><table>{''.join(rows)}</table>")
    return "".join(parts)


def _where(fill: dict) -> str:
    """Where a fill's string fillers are in the text: their mentions' offsets, or 'not located'."""
    out = []
    for v in fill.get("values") or ():
        if isinstance(v, dict) and "string" in v:
            spans = ", ".join(f'{m["start"]}-{m["end"]}' for m in v.get("mentions") or ())
            out.append(f'{v["string"]}: {spans or "not located"}' + (" (ambiguous)" if v.get("ambiguous") else ""))
    return "; ".join(out)


def key_html(key: dict | None) -> str:
    """A MUC-4 message's key templates (annotations/<doc>/muc4-key.json, made by `raidcorpus keys`):
    each template's incident type and stage, then every filled slot as its key line writes it and
    where its string fillers were found. Unfilled slots ('-') are left out to keep the panel short."""
    if not key:
        return ""
    parts = ["<h2>MUC-4 key templates</h2>"]
    for n, template in enumerate(key.get("templates") or (), 1):
        slots = template.get("slots") or {}
        def line(slot):
            return " / ".join(muckeys.render_fill(f) for f in slots.get(slot) or ()) or "-"
        rows = []
        for slot in muckeys.slots():
            for fill in slots.get(slot) or ():
                text = muckeys.render_fill(fill)
                if text.strip() != "-":
                    rows.append(f"<tr><td>{esc(slot)}</td><td>{esc(text)}</td><td>{esc(_where(fill))}</td></tr>")
        title = f"template {template.get('template') or n}" + (" (OPTIONAL)" if template.get("optional") else "")
        parts.append(f"<h3>{esc(title)}: {esc(line('INCIDENT: TYPE'))}, {esc(line('INCIDENT: STAGE OF EXECUTION'))}</h3>"
                     f"<table>{''.join(rows)}</table>")
    return "".join(parts)


def document_page(doc: dict, gold: dict | None, key: dict | None, onto: ontology.Ontology) -> str:
    """One document's page: text and (for MUC) key side by side, then the gold items."""
    colour = colours(onto)
    head = f'<p><a href="../index.html">all documents</a></p><h1>{esc(doc.get("title") or doc["id"])}</h1>'
    head += f'<p>{esc(doc["id"])} &middot; {esc(doc.get("outlet") or "")} &middot; published {esc(doc.get("published") or "?")}</p>'
    if gold is None:
        return page(doc["id"], head + "<p>No gold layer yet.</p>" + f'<div class="text">{esc(doc["text"])}</div>')
    legend = "".join(_chip(t, colour) for t in onto.entity_names + onto.event_names)
    body = (head + f'<p class="legend">{legend} (a trigger is underlined in its event colour)</p>'
            f'<div class="cols"><div class="text" id="text">{text_html(doc["text"], gold, colour)}</div>'
            + (f'<div class="side">{key_html(key)}</div>' if key else "") + "</div>"
            + entities_html(gold, colour) + events_html(gold, colour) + chains_html(gold))
    return page(doc["id"], body)


# --- the index and its plots --------------------------------------------------------------------


def _value(rows: list[dict], measure: str, label: str = ALL):
    return next((r["value"] for r in rows if r["measure"] == measure and r["label"] == label), None)


def _fmt(value) -> str:
    return '<span class="na">n/a</span>' if value is None else f"{value:.3f}"


def _pyplot():
    """pyplot without a display, its SVG ids salted with a constant (they are random otherwise)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "raidcorpus"
    import matplotlib.pyplot as plt

    return plt


def svg(fig) -> str:
    """A figure as inline SVG, without the date and random ids that would change it from run to run."""
    plt = _pyplot()
    buf = stdio.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plot_per_type(overall: list[dict], onto: ontology.Ontology) -> str:
    """Horizontal bars: entity F1 (exact) per entity type and trigger F1 per event type; n/a types are named, not drawn as 0."""
    plt = _pyplot()
    names = [(t, "entity_exact") for t in onto.entity_names] + [(t, "trigger") for t in onto.event_names]
    values = [_value(overall, measure, t) for t, measure in names]
    colour = colours(onto)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1))
    ys = range(len(names))
    ax.barh(list(ys), [v or 0 for v in values], color=[colour[t] for t, _ in names])
    ax.set_yticks(list(ys), [f"{t} (n/a)" if v is None else t for (t, _), v in zip(names, values)])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 between annotators (entities exact; events: trigger)")
    return svg(fig)


def plot_per_document(documents: list[dict]) -> str:
    """Grouped bars per document: entity, trigger and argument F1."""
    plt = _pyplot()
    measures = (("entity_exact", "entities"), ("trigger", "triggers"), ("argument", "arguments"))
    fig, ax = plt.subplots(figsize=(6, 0.6 * len(documents) + 1))
    height = 0.8 / len(measures)
    for i, (measure, name) in enumerate(measures):
        ys = [j + i * height for j in range(len(documents))]
        ax.barh(ys, [_value(d["rows"], measure) or 0 for d in documents], height=height, label=name)
    ax.set_yticks([j + height for j in range(len(documents))], [d["document"][:40] for d in documents], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.legend(loc="lower left", fontsize=7)
    ax.set_xlabel("F1 between annotators, per document")
    return svg(fig)


def index_page(rows: list[dict], report: dict, onto: ontology.Ontology) -> str:
    per_doc = {d["document"]: d["rows"] for d in report["documents"]}
    lines = []
    for r in rows:
        agreement = per_doc.get(r["id"], [])
        lines.append(f'<tr><td><a href="{DOCS}/{quote(r["id"])}.html">{esc(r["id"])}</a></td><td>{esc(r["title"])}</td>'
                     f'<td>{r["layers"]}</td><td>{r["entities"]}</td><td>{r["events"]}</td><td>{r["arguments"]}</td><td>{r["chains"]}</td>'
                     f'<td>{_fmt(_value(agreement, "entity_exact"))}</td><td>{_fmt(_value(agreement, "trigger"))}</td>'
                     f'<td>{_fmt(_value(agreement, "argument"))}</td></tr>')
    head = ("<tr><th>document</th><th>title</th><th>annotator layers</th><th>gold entities</th><th>gold events</th>"
            "<th>arguments</th><th>chains</th><th>entity F1</th><th>trigger F1</th><th>argument F1</th></tr>")
    body = [f"<h1>{esc(onto.title)}: the corpus</h1>",
            f"<p>{len(rows)} documents; agreement between {esc(', '.join(report['annotators']) or 'no annotators')} "
            "(see docs/agreement.md for the measures).</p>",
            f"<table>{head}{''.join(lines)}</table>"]
    if report["overall"]:
        body.append("<h2>Agreement per type</h2>" + plot_per_type(report["overall"], onto))
    if report["documents"]:
        body.append("<h2>Agreement per document</h2>" + plot_per_document(report["documents"]))
    return page(f"{onto.title}: the corpus", "\n".join(body))


# --- writing -------------------------------------------------------------------------------------


@dataclass
class Written:
    out: Path
    documents: int
    with_gold: int


def write(out: str | Path, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> Written:
    """Write the report into `out` (index.html and docs/<doc>.html), and nowhere else."""
    out, annotations_dir, corpus_dir = Path(out), Path(annotations_dir), Path(corpus_dir)
    if out.is_symlink():
        raise UserError(f"{out}: is a symbolic link; the report is written only into a real folder")
    onto = ontology.load()
    reader = Reader(corpus_dir)
    ids = sorted(p.stem for p in corpus_dir.glob("*.json")) if corpus_dir.is_dir() else []
    if not ids:
        raise UserError(f"{corpus_dir}: no corpus records to report on")
    # the layers by name: a MUC-4 key beside them is no annotator's layer
    layers = sorted(p for p in annotations_dir.glob("*/*.json") if p.name not in (*NOT_LAYERS, KEY_FILE)) if annotations_dir.is_dir() else []
    report = agree.agree(layers, corpus_dir) if layers else {"annotators": [], "documents": [], "overall": []}
    rows, pages = [], {}
    for doc_id in ids:
        doc = reader.document(doc_id)
        folder = annotations_dir / doc_id
        gold_path, key_path = folder / "gold.json", folder / KEY_FILE
        gold = reader.read(gold_path, "annotation") if gold_path.is_file() else None
        key = fileio.read_json(key_path) if key_path.is_file() else None
        count = sum(1 for p in layers if p.parent.name == doc_id)
        g = gold or {"entities": [], "events": [], "entity_clusters": [], "event_clusters": []}
        rows.append({"id": doc_id, "title": doc.get("title") or "", "layers": count, "entities": len(g["entities"]),
                     "events": len(g["events"]), "arguments": sum(len(v["arguments"]) for v in g["events"]),
                     "chains": len(g["entity_clusters"]) + len(g["event_clusters"])})
        pages[doc_id] = document_page(doc, gold, key, onto)
    index = index_page(rows, report, onto)
    for doc_id, text in pages.items():
        fileio.write_bytes_atomic(fileio.inside(out, DOCS, f"{doc_id}.html"), text.encode("utf-8"))
    fileio.write_bytes_atomic(fileio.inside(out, "index.html"), index.encode("utf-8"))
    return Written(out, len(ids), sum(1 for r in rows if r["entities"] or r["events"]))
