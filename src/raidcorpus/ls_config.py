"""The Label Studio labelling config, generated from the ontology (never written by hand).

Control names are fixed because convert.py reads results by them: `entity` and `event`
label spans, `coref` and the role names are relation labels, every attribute is a
per-region Choices named after it, and `normalized` is a per-region TextArea.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from . import ontology
from .errors import UserError
from .fileio import write_bytes_atomic

CONFIG_PATH = Path("labelstudio") / "config.xml"  # relative to the project folder (the repository's top)
TEXT = "text"
ENTITY = "entity"
EVENT = "event"
NORMALIZED = "normalized"
COREF = "coref"
FEEDBACK = "problems"  # task data field holding the validation problems (see feedback.py)

ENTITY_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990")
EVENT_COLOURS = ("#ffe119", "#ff8c00", "#9a6324", "#800000", "#aaffc3", "#808000", "#ffd8b1", "#dcbeff", "#a9a9a9", "#fffac8")
ENTITY_KEYS = tuple("123456789")
EVENT_KEYS = tuple("qwertyiop")  # "u" unselects a region in Label Studio
# One hotkey per attribute value, in schema order: letters no label uses, then the same with shift.
CHOICE_KEYS = tuple("asdfgjklzxcvbnm") + tuple("shift+" + c for c in "asdfgjklzxcvbnm")
PANEL = "position:sticky; top:0; align-self:flex-start; width:340px; flex:none; max-height:100vh; overflow-y:auto; padding:0 8px"


def _attrs(**attrs) -> str:
    """XML attributes in the given order, values escaped (names ending in _ lose it)."""
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        parts.append(f'{key.rstrip("_")}="{escape(str(value), {chr(34): "&quot;", chr(10): "&#10;"})}"')
    return " ".join(parts)


def _pick(seq, i):
    return seq[i] if i < len(seq) else None


def _hint(value: ontology.Value) -> str:
    hint = " ".join(value.description.split())
    if value.examples:
        hint += " e.g. " + "; ".join(value.examples)
    return hint


def _control_names(onto: ontology.Ontology) -> None:
    """Refuse an ontology whose names would collide inside the config."""
    fixed = {TEXT, ENTITY, EVENT, NORMALIZED}
    attrs = [a.name for a in onto.entity_attributes + onto.event_attributes]
    clash = fixed & set(attrs) or {a for a in attrs if attrs.count(a) > 1}
    if clash:
        raise UserError(f"attribute names clash with config control names: {', '.join(sorted(clash))}")
    both = set(onto.entity_names) & set(onto.event_names)
    if both:
        raise UserError(f"names used as both entity and event type: {', '.join(sorted(both))}")
    if COREF in onto.role_names:
        raise UserError(f"role name {COREF!r} is reserved for coreference")


def _required_in_scope(attr: ontology.Attribute, owner: str) -> bool:
    """True when the schema requires `attr` for its scoped types (attack_type), not merely allows it (approx)."""
    conditions = ontology.load_schema()["$defs"][owner]["allOf"]
    return any(attr.name in c.get("then", {}).get("properties", {}).get("attributes", {}).get("required", ()) for c in conditions)


def _choices(attr: ontology.Attribute, tag: str, owner: str, keys) -> list[str]:
    when = ",".join(attr.scope) if attr.scope else None
    # Label Studio's per-region required check compares a single label value.
    required = attr.required or (len(attr.scope) == 1 and _required_in_scope(attr, owner))
    show = dict(visibleWhen="region-selected", whenTagName=tag, whenLabelValue=when)
    head = _attrs(name=attr.name, toName=TEXT, perRegion="true", choice="single", showInline="true",
                  required="true" if required else None, **show)
    lines = [f"    <View {_attrs(**show)}>", f"      <Header {_attrs(value=attr.name, size='6')}/>", f"      <Choices {head}>"]
    for v in attr.values:
        lines.append(f"        <Choice {_attrs(value=v.name, hotkey=next(keys, None), hint=_hint(v))}/>")
    lines += ["      </Choices>", "    </View>"]
    return lines


def _roles(event: ontology.EventType) -> list[str]:
    """What the selected trigger's event type allows: each role and the entity types that may fill it."""
    lines = [f"    <View {_attrs(visibleWhen='region-selected', whenTagName=EVENT, whenLabelValue=event.name)}>",
             f"      <Header {_attrs(value=f'{event.name}: roles (relation from the trigger to the filler)', size='6')}/>"]
    for role in event.roles:
        hint = f"{role.name} <- {', '.join(role.fillers)}"
        lines.append(f"      <Header {_attrs(value=hint, size='7')}/>")
    lines.append("    </View>")
    return lines


def render(onto: ontology.Ontology | None = None) -> str:
    """The config XML for `onto` (default: the project schema's ontology).

    Two columns: on the left the article's title, outlet and publication date, the label sets and
    the text; on the right a column that stays in view while the text scrolls, with the selected
    region's attributes and, for a trigger, the roles its event type allows.
    """
    onto = onto or ontology.load()
    _control_names(onto)
    keys = iter(CHOICE_KEYS)
    lines = [
        f"<!-- Generated by `raidcorpus ls-config` from the schema, version {escape(onto.version).replace('--', '-')}: do not edit. -->",
        "<View>",
        f'  <View {_attrs(style="display:flex; gap:16px; align-items:flex-start")}>',
        f'  <View {_attrs(style="flex:1; min-width:0")}>',
        f'  <Header {_attrs(value="$header", size="4")}/>',
        # Validation problems of the annotations of this task, written by `raidcorpus feedback`.
        f'  <View {_attrs(style="white-space: pre-line; color: #b00020")}>',
        f'    <Header {_attrs(value="$" + FEEDBACK, size="6")}/>',
        "  </View>",
        f"  <Labels {_attrs(name=ENTITY, toName=TEXT, showInline='true')}>",
    ]
    for i, t in enumerate(onto.entity_types):
        lines.append(f"    <Label {_attrs(value=t.name, background=_pick(ENTITY_COLOURS, i), hotkey=_pick(ENTITY_KEYS, i), hint=_hint(t))}/>")
    lines.append("  </Labels>")
    lines.append(f"  <Labels {_attrs(name=EVENT, toName=TEXT, showInline='true')}>")
    for i, e in enumerate(onto.event_types):
        lines.append(f"    <Label {_attrs(value=e.name, background=_pick(EVENT_COLOURS, i), hotkey=_pick(EVENT_KEYS, i), hint=_hint(e))}/>")
    lines.append("  </Labels>")
    lines.append(f"  <Text {_attrs(name=TEXT, value='$text')}/>")
    lines.append("  <Relations>")
    for role in onto.role_names:
        lines.append(f"    <Relation {_attrs(value=role)}/>")
    lines.append(f"    <Relation {_attrs(value=COREF)}/>")
    lines.append("  </Relations>")
    lines.append("  </View>")
    lines.append(f"  <View {_attrs(style=PANEL)}>")
    lines.append(f"    <Header {_attrs(value='Select a region to set its attributes', size='6')}/>")
    for attr in onto.entity_attributes:
        lines += _choices(attr, ENTITY, "Entity", keys)
    valued = ",".join(onto.value_types)
    lines.append(f"    <View {_attrs(visibleWhen='region-selected', whenTagName=ENTITY, whenLabelValue=valued)}>")
    lines.append(f"      <Header {_attrs(value=NORMALIZED + ' (TIME: ISO 8601, NUM: integer)', size='6')}/>")
    lines.append(f"      <TextArea {_attrs(name=NORMALIZED, toName=TEXT, perRegion='true', editable='true', maxSubmissions='1', rows='1')}/>")
    lines.append("    </View>")
    for attr in onto.event_attributes:
        lines += _choices(attr, EVENT, "Event", keys)
    for event in onto.event_types:
        lines += _roles(event)
    lines.append("  </View>")
    lines.append("  </View>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def instructions(onto: ontology.Ontology | None = None, guidelines: str | Path | None = None) -> str:
    """The project's instructions (HTML): a short version of the guidelines (how to work and the
    decisions table from GUIDELINES.md, the types, roles and hotkeys from the schema), with the full
    guidelines one click away."""
    from markdown_it import MarkdownIt

    onto = onto or ontology.load()
    path = Path(guidelines) if guidelines else Path("GUIDELINES.md")  # the project's, when there is one
    full = path.read_text(encoding="utf-8") if path.exists() else ""
    md = MarkdownIt("commonmark").enable("table")
    short = ""
    if "## 1." in full:
        section = full.split("## 1.", 1)[1].split("\n## ", 1)[0]
        short = md.render("## 1." + section)
    keys = iter(CHOICE_KEYS)
    rows = []
    for attr in onto.entity_attributes + onto.event_attributes:
        values = ", ".join(f"{v.name} <kbd>{escape(next(keys, '') or '')}</kbd>" for v in attr.values)
        scope = f" ({', '.join(attr.scope)} only)" if attr.scope else ""
        rows.append(f"<tr><td>{escape(attr.name)}{escape(scope)}</td><td>{values}</td></tr>")
    labels = [f"{escape(t.name)} <kbd>{k}</kbd>" for t, k in zip(onto.entity_types, ENTITY_KEYS)]
    labels += [f"{escape(e.name)} <kbd>{k}</kbd>" for e, k in zip(onto.event_types, EVENT_KEYS)]
    roles = []
    for e in onto.event_types:
        allowed = "; ".join(f"{r.name}: {', '.join(r.fillers)}" for r in e.roles)
        roles.append(f"<tr><td>{escape(e.name)}</td><td>{escape(allowed)}</td></tr>")
    parts = [
        "<h2>Annotating in short</h2>",
        "<p>Title, outlet and publication date are above the text: resolve every TIME against the publication date. "
        "Select a label (hotkey), drag over the words; select the region to set its attributes in the column on the right "
        "(hotkeys below). A role is a relation from the trigger to the filler. Two independent annotators label every article: "
        "do not look at anyone else's work.</p>",
        "<p>Labels: " + ", ".join(labels) + "</p>",
        "<table><tr><th>attribute</th><th>values and hotkeys</th></tr>" + "".join(rows) + "</table>",
        "<table><tr><th>event</th><th>roles: entity types that may fill them</th></tr>" + "".join(roles) + "</table>",
        short,
    ]
    if full:
        parts.append("<details><summary><b>Full guidelines (click to open)</b></summary>" + md.render(full) + "</details>")
    return "\n".join(p for p in parts if p)


def write(path: str | Path = CONFIG_PATH, check: bool = False) -> bool:
    """Write the config; with check=True only compare and raise if the file is stale. True if it changed."""
    path = Path(path)
    text = render()
    if check:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
            raise UserError(f"{shown} is stale: run `raidcorpus ls-config` to regenerate it")
        return False
    return write_bytes_atomic(path, text.encode("utf-8"))
