"""synth: a deterministic synthetic corpus, for tests and benchmarks at any scale.

Writes corpus records, annotator layers that disagree a little, a gold layer with provenance,
cross-document event clusters and splits, all valid under the schema. Entity types, event
types, roles, filler types and attribute values come from the ontology; the word lists below
only give them surface forms (a type without words falls back to the schema's examples).
Every document draws from its own random stream seeded by (seed, index), so the same seed
gives the same bytes, and files are written one document at a time.
"""

from __future__ import annotations

import datetime as dt
import random
from itertools import islice
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from . import align, gold, fileio, workers
from .errors import UserError
from .ingest import Article, make_record
from .ontology import Ontology
from .ontology import load as load_ontology

# --- surface forms (vocabulary, not the ontology: types and roles come from the schema) ------

FIRST = ("Abdelhamid", "Amedy", "Éric", "Salah", "Najim", "Khalid", "Mohamed", "Jürgen", "Zoë", "Søren",
         "Дмитрий", "Анна", "Oğuz", "Nuño", "Chloé", "Fatima", "Youssef", "Ibrahim", "Lena", "Marek")
LAST = ("Abaaoud", "Coulibaly", "Van der Sypt", "Abdeslam", "Laachraoui", "El Bakraoui", "Müller", "Lefèvre",
        "Иванов", "Kovačević", "Nørgaard", "Öztürk", "Peña", "Dupont", "Benali", "Janssens", "Wróbel")
ARABIC_NAMES = ("عبد الحميد أباعود", "محمد الحسن", "يوسف بن علي", "فاطمة الزهراء")

WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "PER": {
        "NOM": ("the suspect", "the suspects", "two gunmen", "a 23-year-old man", "the victims", "a police officer",
                "the bombers", "a Belgian prosecutor", "three men", "a woman", "passers-by", "the attacker"),
        "PRO": ("he", "she", "they"),
    },
    "ORG": {
        "NAM": ("Europol", "the Belgian Federal Police", "Der Spiegel", "ISIS", "Interpol", "the DGSI",
                "Sûreté de l'État", "ФСБ", "the Federal Prosecutor's Office", "Le Soir"),
        "NOM": ("a terror cell", "police", "special forces", "the prosecutor's office", "the group", "the network"),
        "PRO": ("it", "they"),
    },
    "GPE": {
        "NAM": ("Verviers", "Brussels", "Molenbeek-Saint-Jean", "Liège", "Saint-Denis", "Zürich", "Москва",
                "الرقة", "Paris", "İstanbul", "Kraków", "Aarhus", "Belgium", "France", "Syria", "Schaerbeek"),
        "NOM": ("the city", "the town", "the country", "the capital"),
    },
    "LOC": {
        "NAM": ("Europe", "the Sahel", "the Ardennes", "Sinai", "the Maghreb"),
        "NOM": ("the border with Germany", "the area", "the forest outside the town", "the motorway verge"),
    },
    "FAC": {
        "NAM": ("Zaventem Airport", "Maelbeek metro station", "the Bataclan", "Gare du Midi", "Rue de la Colline\u00a012",
                "Place de la République"),
        "NOM": ("a small flat", "a kosher market", "the railway station", "a bakery", "the house", "a warehouse"),
    },
    "WEA": {
        "NOM": ("heavy weapons", "15\u00a0kg of explosives", "a suicide belt", "Kalashnikov rifles", "a grenade",
                "detonators", "TATP", "a hunting knife", "a pipe bomb", "ammunition"),
    },
    "VEH": {
        "NOM": ("a rented car", "a train", "a white van", "a remote controlled robot", "a motorbike 🏍️", "a lorry"),
        "NAM": ("the Thalys 9364", "a Renault Clio"),
    },
}

# event type -> (templates, triggers). {T} is the trigger, {Role} a filler, {be} agrees with the last filler.
FRAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Raid": (("{Agent} carried out {T} on {Target}", "{Agent} launched {T} against {Target}"),
             ("a raid", "an anti-terror raid", "a counter-terrorism operation", "a search", "searches")),
    "Attack": (("{Attacker} {T} {Target}",), ("attacked", "opened fire on", "stormed", "bombed", "targeted")),
    "Arrest": (("{Agent} {T} {Person}", "{Person} {be} {T} by {Agent}"), ("arrested", "detained", "apprehended")),
    "Die": (("{Victim} {be} {T}",), ("killed", "shot dead", "found dead")),
    "Injure": (("{Victim} {be} {T}",), ("injured", "wounded", "badly hurt")),
    "Seizure": (("{Agent} {T} {Item}", "{Item} {be} {T} by {Agent}"), ("seized", "found", "recovered", "confiscated")),
    "Movement": (("{Traveller} {T} from {Origin}", "{Traveller} {T} to {Destination}"),
                 ("returned", "travelled", "fled", "went back")),
    "ThreatLevelChange": (("{Agent} {T} the terror alert level from {FromLevel} to {ToLevel}",),
                          ("raised", "lowered", "elevated")),
}
ANAPHORS = {"Raid": ("raid", "operation"), "Attack": ("attack", "assault"), "Arrest": ("arrest",),
            "Die": ("killing", "deaths"), "Injure": ("injuries",), "Seizure": ("seizure", "find"),
            "Movement": ("journey", "trip"), "ThreatLevelChange": ("decision",)}
ROLE_PREP = {"Place": "in", "Instrument": "with", "Origin": "from", "Destination": "to", "Vehicle": "aboard",
             "Agent": "by", "Owner": "belonging to", "Target": "targeting", "Attacker": "by"}
STATUS_CUE = {"attempted": "In a failed attempt, ", "foiled": "In a plot that was foiled, ",
              "planned": "According to prosecutors, it was planned that ", "threatened": "The group threatened that "}
POLARITY_CUE = {"negative": "Officials denied that "}
EVIDENCE_CUE = {"attributed": ", officials said", "unconfirmed": ", although this has not been confirmed"}
FILLERS = (
    "Residents described scenes of panic in the street.",
    "The investigation is continuing.",
    "«\u00a0Nous sommes tous choqués\u00a0», a neighbour told reporters.",
    "«Это ужасно», said a witness who asked not to be named.",
    "Messages of support poured in online: «Pray for the victims 🙏🇧🇪».",
    "One family 👨‍👩‍👧 said they had left the area hours earlier.",
    "قال شاهد عيان إن الشرطة أغلقت الشارع.",
    "Schools in the district stayed closed on the following day.",
    "The prime minister called an emergency meeting of the security council.",
    "Officials declined to give further details, citing the ongoing investigation.",
    "Police cordoned off several streets and asked residents to stay indoors.",
    "Analysts said the network had links to groups in several countries.",
)
FOLLOW_UPS = (" lasted several hours.", " drew condemnation from across Europe.", " was widely reported.",
              " followed weeks of surveillance.")
OUTLETS = ("NBC News", "The Guardian", "Le Soir", "Der Spiegel", "BBC News", "Al Jazeera", "Reuters")
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHANGELOG = """# Changelog

## [0.0.0] - 2015-01-15

Synthetic corpus made by `raidcorpus synth --docs {docs} --seed {seed} --annotators {annotators}`:
generated text, not news; for tests and benchmarks only.
"""
SPLITS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
PLURAL = re.compile(r"^(the \w+s|\w+ men|two|three|\d|passers|police|special|heavy|detonators|ammunition|Kalashnikov)", re.I)


@dataclass
class Referent:
    """A thing in the story world, mentioned one or more times (its mentions form a cluster)."""

    type: str
    nam: str | None
    nom: str
    pro: str | None
    mentions: list[str] = field(default_factory=list)


@dataclass
class Anchor:
    """What the documents of one cross-document story share."""

    story: str
    event_type: str
    place: str
    date: dt.date
    killed: int


class Doc:
    """Builds one article's text while recording the spans of what it annotates."""

    def __init__(self, rng: random.Random, onto: Ontology, published: dt.date):
        self.rng, self.onto, self.published = rng, onto, published
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict] = []
        self.events: list[dict] = []
        self.event_clusters: list[dict] = []
        self.referents: list[Referent] = []
        self.sentence_start = True
        self.last_plural = False

    def lit(self, s: str) -> None:
        if self.sentence_start and s:
            s = s[0].upper() + s[1:]
        self.parts.append(s)
        self.pos += len(s)
        self.sentence_start = False

    def span(self, s: str) -> tuple[int, int, str]:
        if self.sentence_start:
            s = s[0].upper() + s[1:]
        start = self.pos
        self.lit(s)
        return start, self.pos, s

    def end_sentence(self, s: str = ".") -> None:
        self.lit(s)
        self.sentence_start = True

    def sep(self, s: str) -> None:
        """White space between sentences (keeps the next sentence's capital)."""
        self.parts.append(s)
        self.pos += len(s)

    # -- entity mentions -------------------------------------------------------------------
    def _words(self, etype: str) -> dict[str, tuple[str, ...]]:
        words = WORDS.get(etype)
        if words:
            return words
        examples = next((v.examples for v in self.onto.entity_types if v.name == etype), ()) or (etype.lower(),)
        return {"NOM": examples}

    def _new_referent(self, etype: str) -> Referent:
        rng, words = self.rng, self._words(etype)
        nam = None
        if etype == "PER" and rng.random() < 0.6:
            nam = rng.choice(ARABIC_NAMES) if rng.random() < 0.08 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        elif "NAM" in words and rng.random() < 0.6:
            nam = rng.choice(words["NAM"])
        nom = rng.choice(words.get("NOM") or words.get("NAM"))
        pro = rng.choice(words["PRO"]) if "PRO" in words else None
        ref = Referent(etype, nam, nom, pro)
        self.referents.append(ref)
        return ref

    def entity(self, etype: str, *, reuse: float = 0.35, text: str | None = None) -> str:
        """Mention an entity of `etype` (a new one, or again one already mentioned); returns its id."""
        rng = self.rng
        if etype == "TIME":
            return self.time_mention()
        if etype == "NUM":
            return self.num_mention()
        known = [r for r in self.referents if r.type == etype]
        if text is None and known and rng.random() < reuse:
            ref = rng.choice(known)
            if ref.pro and self.sentence_start and rng.random() < 0.5:
                form, words = "PRO", ref.pro
            elif ref.nam and rng.random() < 0.6:
                form, words = "NAM", ref.nam
            else:
                form, words = "NOM", ref.nom
        else:
            ref = self._new_referent(etype)
            if text is not None:
                ref.nam = text
            form, words = ("NAM", ref.nam) if ref.nam else ("NOM", ref.nom)
        start, end, s = self.span(words)
        self.last_plural = form != "NAM" and bool(PLURAL.match(s)) or s.lower() == "they"
        eid = f"e{len(self.entities) + 1}"
        self.entities.append({"id": eid, "type": etype, "start": start, "end": end, "text": s,
                              "attributes": {"mention": form}, "normalized": None})
        ref.mentions.append(eid)
        return eid

    def _value(self, etype: str, s: str, normalized, attributes: dict) -> str:
        start, end, s = self.span(s)
        eid = f"e{len(self.entities) + 1}"
        self.entities.append({"id": eid, "type": etype, "start": start, "end": end, "text": s,
                              "attributes": attributes, "normalized": normalized})
        return eid

    def time_mention(self, date: dt.date | None = None) -> str:
        """A TIME mention with its preposition, normalized against the publication date."""
        rng, pub = self.rng, self.published
        if date is not None:
            self.lit("on ")
            return self._value("TIME", f"{date.day} {MONTHS[date.month - 1]} {date.year}", date.isoformat(), {"mention": "NAM"})
        kind = rng.randrange(7)
        if kind == 0:
            day = pub - dt.timedelta(days=rng.randint(1, 6))
            self.lit("on ")
            return self._value("TIME", WEEKDAYS[day.weekday()], day.isoformat(), {"mention": "NAM"})
        if kind == 1:
            return self._value("TIME", "yesterday", (pub - dt.timedelta(days=1)).isoformat(), {"mention": "NOM"})
        if kind == 2:
            monday = pub - dt.timedelta(days=pub.weekday() + 7)
            return self._value("TIME", "last week", f"{monday.isoformat()}/{(monday + dt.timedelta(days=6)).isoformat()}", {"mention": "NOM"})
        if kind == 3:
            self.lit("in ")
            return self._value("TIME", f"{MONTHS[pub.month - 1]} {pub.year}", f"{pub.year:04d}-{pub.month:02d}", {"mention": "NAM"})
        if kind == 4:
            day, hour = pub - dt.timedelta(days=rng.randint(0, 3)), rng.randint(1, 11)
            self.lit("at ")
            return self._value("TIME", f"{hour} a.m. local time on {WEEKDAYS[day.weekday()]}", f"{day.isoformat()}T{hour:02d}:00", {"mention": "NOM"})
        if kind == 5:
            year = pub.year - rng.randint(0, 2)
            self.lit("in ")
            return self._value("TIME", str(year), None if rng.random() < 0.05 else str(year), {"mention": "NAM"})
        day = pub - dt.timedelta(days=rng.randint(0, 30))
        self.lit("on ")
        return self._value("TIME", f"{day.day} {MONTHS[day.month - 1]} {day.year}", day.isoformat(), {"mention": "NAM"})

    def num_mention(self, value: int | None = None, small: bool = False) -> str:
        """A NUM mention: a count in digits or words, with how the text qualifies it."""
        rng = self.rng
        n = value if value is not None else rng.randint(1, 5 if small else 400)
        if small:
            return self._value("NUM", str(n), n, {"mention": "NOM", "approx": "exact"})
        choice = rng.randrange(6)
        if choice == 0 and n <= len(NUMBER_WORDS):
            return self._value("NUM", NUMBER_WORDS[n - 1], n, {"mention": "NOM", "approx": "exact"})
        qualified = (("at least", "at_least"), ("more than", "at_least"), ("almost", "approximately"),
                     ("about", "approximately"), ("up to", "at_most"))
        if choice in (1, 2, 3, 4, 5) and rng.random() < 0.7:
            words, approx = qualified[choice - 1]
            return self._value("NUM", f"{words} {n}", n, {"mention": "NOM", "approx": approx})
        return self._value("NUM", str(n), n, {"mention": "NOM", "approx": "exact"})

    # -- events ----------------------------------------------------------------------------
    def attributes(self, etype: str) -> dict:
        rng, out = self.rng, {}
        for attr in self.onto.event_attributes:
            if not attr.required and etype not in attr.scope:
                continue
            names = attr.names
            # The first value is the common case (actual, positive, specific, asserted).
            out[attr.name] = names[0] if (rng.random() < 0.7 and attr.required) else rng.choice(names)
        return out

    def event(self, etype: str, anchor: Anchor | None = None) -> str:
        """One sentence reporting one event, its arguments and the cues for its attributes."""
        rng, et = self.rng, self.onto.event(etype)
        templates, triggers = FRAMES.get(etype, ((), ()))
        role_names = {r.name for r in et.roles}
        usable = [t for t in templates if set(re.findall(r"\{(\w+)\}", t)) - {"T", "be"} <= role_names]
        template = rng.choice(usable) if usable else "{%s} was involved in {T}" % et.roles[0].name
        trigger_words = triggers or et.examples or (etype.lower(),)
        attrs = self.attributes(etype)
        if anchor is not None:
            # the story's event gets a cross-document cluster: specific, positive, not only unconfirmed (GUIDELINES 12.1)
            attrs.update(genericity="specific", polarity="positive")
            if attrs.get("evidentiality") == "unconfirmed":
                attrs["evidentiality"] = "asserted"
        cue = next((c for c in (POLARITY_CUE.get(v) or STATUS_CUE.get(v) for v in attrs.values()) if c), "")
        if cue:
            self.lit(cue)
        evid = f"v{len(self.events) + 1}"
        args, trigger = [], None
        for piece in re.split(r"(\{\w+\})", template):
            if not piece:
                continue
            name = piece[1:-1] if piece.startswith("{") else None
            if name is None:
                self.lit(piece)
            elif name == "T":
                s, e, t = self.span(rng.choice(trigger_words))
                trigger = {"start": s, "end": e, "text": t}
            elif name == "be":
                self.lit("were" if self.last_plural else "was")
            else:
                args.append(self._argument(et.role(name), anchor))
        for role in et.roles:
            if f"{{{role.name}}}" in template:
                continue
            forced = anchor is not None and role.name in ("Place", "Time")
            if forced or rng.random() < 0.4:
                if "TIME" not in role.fillers:
                    self.lit(f" {ROLE_PREP.get(role.name, 'involving')} ")
                else:
                    self.lit(" ")
                args.append(self._argument(role, anchor))
        self.end_sentence(EVIDENCE_CUE.get(attrs.get("evidentiality"), "") + ".")
        self.events.append({"id": evid, "type": etype, "trigger": trigger, "arguments": args, "attributes": attrs})
        return evid

    def _argument(self, role, anchor: Anchor | None) -> dict:
        rng = self.rng
        if anchor is not None and role.name == "Time" and "TIME" in role.fillers:
            eid, etype = self.time_mention(anchor.date), "TIME"
        elif anchor is not None and role.name == "Place" and "GPE" in role.fillers:
            eid, etype = self.entity("GPE", text=anchor.place), "GPE"
        else:
            fillers = role.fillers
            etype = fillers[0] if rng.random() < 0.5 else rng.choice(fillers)
            eid = self.num_mention(small=True) if etype == "NUM" else self.entity(etype)
        return {"role": role.name, "entity": eid, "type": etype}

    def follow_up(self, event: dict) -> None:
        """A second mention of an earlier event ("The raid lasted ..."), clustered with it."""
        words = ANAPHORS.get(event["type"], ("incident",))
        self.lit("The ")
        s, e, t = self.span(self.rng.choice(words))
        self.lit(self.rng.choice(FOLLOW_UPS))
        self.sentence_start = True
        evid = f"v{len(self.events) + 1}"
        self.events.append({"id": evid, "type": event["type"], "trigger": {"start": s, "end": e, "text": t},
                            "arguments": [], "attributes": dict(event["attributes"])})
        self.event_clusters.append({"id": f"ec{len(self.event_clusters) + 1}", "members": [event["id"], evid]})

    def entity_clusters(self) -> list[dict]:
        found = [r.mentions for r in self.referents if len(r.mentions) >= 2]
        return [{"id": f"c{i}", "members": list(m)} for i, m in enumerate(found, 1)]


# --- documents --------------------------------------------------------------------------------


def _story_anchor(rng: random.Random, onto: Ontology, story: str) -> Anchor:
    date = dt.date(2014, 1, 1) + dt.timedelta(days=rng.randrange(3650))
    # Stories are about the violent events whose casualty figures sources disagree on.
    violent = [name for name in onto.event_names if name in ("Attack", "Raid")] or list(onto.event_names)
    return Anchor(story, rng.choice(violent), rng.choice(WORDS["GPE"]["NAM"]), date, rng.randint(1, 40))


def make_document(seed: int, index: int, onto: Ontology, anchor: Anchor | None) -> dict:
    """One synthetic article and its gold annotation (pure: same arguments, same result)."""
    rng = random.Random(f"{seed}/doc/{index}")
    published = (anchor.date if anchor else dt.date(2014, 1, 1) + dt.timedelta(days=rng.randrange(3650)))
    published += dt.timedelta(days=rng.randint(0, 3))
    doc = Doc(rng, onto, published)
    newline = "\r\n" if rng.random() < 0.2 else "\n"
    # Most articles are short; a few are long, as in real news.
    n_events = rng.choice((1, 2, 3, 3, 4, 4, 5, 6, 8)) if rng.random() < 0.9 else rng.randint(12, 30)
    types = [anchor.event_type] if anchor else []
    types += [rng.choice(onto.event_names) for _ in range(n_events - len(types))]
    paragraph_breaks: list[int] = []
    toll = None
    for i, etype in enumerate(types):
        if i and rng.random() < 0.5:
            doc.sep(newline * 2)
            paragraph_breaks.append(len(doc.parts))
        elif i:
            doc.sep(" ")
        evid = doc.event(etype, anchor if (anchor and i == 0) else None)
        if anchor and i == 0:
            reported = max(1, anchor.killed + rng.choice((-2, -1, 0, 0, 0, 1, 3)))
            doc.sep(" ")
            doc.lit("the death toll stood at ")
            toll = (evid, doc.num_mention(reported), reported)
            doc.end_sentence(" last night.")
        if rng.random() < 0.15:
            doc.sep(" ")
            doc.follow_up(doc.events[-1])
        if rng.random() < 0.5:
            doc.sep(" ")
            doc.lit(rng.choice(FILLERS))
            doc.sentence_start = True
    doc.sep(newline)
    body = "".join(doc.parts)
    title = _title(doc, rng)
    head = title + newline * 2
    text = head + body
    shift = len(head)
    for ent in doc.entities:
        ent["start"] += shift
        ent["end"] += shift
    for ev in doc.events:
        ev["trigger"]["start"] += shift
        ev["trigger"]["end"] += shift
    for ent in doc.entities:
        if ent["type"] not in onto.value_types:
            ent.pop("normalized")
    raw = _with_boilerplate(rng, head, doc.parts, paragraph_breaks, newline)
    doc_id = f"synth-{index + 1:06d}"
    record = _document_record(doc_id, title, rng.choice(OUTLETS), published, raw, text)
    gold = {
        "kind": "annotation",
        "schema_version": onto.version,
        "document": doc_id,
        "annotator": "gold",
        "text_sha256": record["sha256"],
        "source": {"generator": "raidcorpus synth", "seed": seed},
        "entities": doc.entities,
        "events": doc.events,
        "entity_clusters": doc.entity_clusters(),
        "event_clusters": doc.event_clusters,
    }
    evidence = None
    if toll:
        ent = next(e for e in doc.entities if e["id"] == toll[1])
        linked = [m for c in doc.event_clusters if toll[0] in c["members"] for m in c["members"] if m != toll[0]]
        evidence = {"event": toll[0], "events": [toll[0], *linked], "killed": toll[2],
                    "span": {"start": ent["start"], "end": ent["end"], "text": ent["text"]}}
    return {"record": record, "gold": gold, "evidence": evidence}


def _title(doc: Doc, rng: random.Random) -> str:
    first = doc.events[0]
    place = next((e["text"] for a in first["arguments"] for e in doc.entities
                  if e["id"] == a["entity"] and a["role"] == "Place"), None)
    words = ANAPHORS.get(first["type"], ("incident",))[0]
    return f"{words.capitalize()} in {place}" if place else f"{words.capitalize()} reported, {rng.choice(OUTLETS)} learns"


def _with_boilerplate(rng, head: str, parts: list[str], breaks: list[int], newline: str) -> str:
    """The raw text: the annotated text plus lines that ingest removes (site furniture, embedded posts)."""
    extra: dict[int, str] = {}
    for at in breaks:
        roll = rng.random()
        if roll < 0.1:
            extra[at] = "Advertisement" + newline * 2
        elif roll < 0.15:
            extra[at] = (f"Stay strong 🙏 pic.twitter.com/{rng.randrange(16**8):08x}{newline}"
                         f"— Jane Doe (@janedoe) January 15, 2015{newline * 2}")
    if not extra:
        return head + "".join(parts)
    out = [head]
    for i, part in enumerate(parts):
        if i in extra:
            out.append(extra[i])
        out.append(part)
    return "".join(out)


def _document_record(doc_id: str, title: str, outlet: str, published: dt.date, raw: str, text: str) -> dict:
    meta = {"id": doc_id, "title": title, "outlet": outlet, "published": published.isoformat(), "language": "en",
            "url": f"https://news.example.org/{doc_id}"}
    record = make_record(Article(f"{doc_id}.txt", raw, meta))
    if record["text"] != text:  # a bug here, never bad input: the annotations would not slice
        raise AssertionError(f"{doc_id}: ingest would change the synthetic text")
    return record


# --- annotator layers -------------------------------------------------------------------------


def annotator_layer(gold: dict, annotator: str, rng: random.Random, onto: Ontology, text: str) -> dict:
    """A layer that differs a little from gold: missed items, other boundaries, types, roles, attributes."""
    entities = []
    dropped: set[str] = set()
    filler_of: dict[str, list[tuple[str, str]]] = {}
    for ev in gold["events"]:
        for a in ev["arguments"]:
            filler_of.setdefault(a["entity"], []).append((ev["type"], a["role"]))
    retyped: dict[str, str] = {}
    clustered = {m for c in gold["entity_clusters"] for m in c["members"]}
    mention = next(a for a in onto.entity_attributes if a.required)
    for ent in gold["entities"]:
        roll = rng.random()
        if roll < 0.04:
            dropped.add(ent["id"])
            continue
        ent = {**ent, "attributes": dict(ent["attributes"])}
        if roll < 0.08 and ent["type"] not in onto.value_types and ent["id"] not in clustered:
            other = _retype(ent, filler_of.get(ent["id"], []), onto, rng)
            if other:
                ent["type"] = retyped[ent["id"]] = other
        elif roll < 0.12:
            _trim(ent, text)
        elif roll < 0.15:
            attr = ent["attributes"]
            attr[mention.name] = rng.choice([m for m in mention.names if m != attr[mention.name]])
        entities.append(ent)
    events, dropped_events = [], set()
    for ev in gold["events"]:
        roll = rng.random()
        if roll < 0.03:
            dropped_events.add(ev["id"])
            continue
        ev = {**ev, "attributes": dict(ev["attributes"]), "trigger": dict(ev["trigger"])}
        args = []
        for a in ev["arguments"]:
            if a["entity"] in dropped or rng.random() < 0.04:
                continue
            args.append({**a, "type": retyped.get(a["entity"], a["type"])})
        ev["arguments"] = args
        if roll < 0.09:
            name = rng.choice(sorted(ev["attributes"]))
            attr = next(x for x in onto.event_attributes if x.name == name)
            ev["attributes"][attr.name] = rng.choice(attr.names)
        events.append(ev)
    return {
        **gold,
        "annotator": annotator,
        "source": {"generator": "raidcorpus synth", "layer": annotator},
        "entities": entities,
        "events": events,
        "entity_clusters": _prune(gold["entity_clusters"], dropped),
        "event_clusters": _prune(gold["event_clusters"], dropped_events),
    }


def _retype(ent: dict, uses: list[tuple[str, str]], onto: Ontology, rng: random.Random) -> str | None:
    """Another entity type that every role this entity fills still allows (so the layer stays valid)."""
    allowed = [t for t in onto.entity_names if t not in onto.value_types and t != ent["type"]]
    for etype, role in uses:
        fillers = onto.event(etype).role(role).fillers
        allowed = [t for t in allowed if t in fillers]
    return rng.choice(allowed) if allowed else None


def _trim(ent: dict, text: str) -> None:
    """Leave out a leading article or qualifier, as annotators often do."""
    words = ent["text"].split(" ", 1)
    if len(words) == 2 and words[0].lower() in ("the", "a", "an", "about", "almost"):
        cut = len(words[0]) + 1
        ent["start"] += cut
        ent["text"] = text[ent["start"]:ent["end"]]


def _prune(clusters: list[dict], dropped: set[str]) -> list[dict]:
    out = []
    for c in clusters:
        members = [m for m in c["members"] if m not in dropped]
        if len(members) >= 2:
            out.append({**c, "members": members})
    return out


def _key(item: dict) -> bytes:
    return fileio.dumps_json({k: v for k, v in item.items() if k != "provenance"})


def add_provenance(gold: dict, layers: list[dict]) -> list[str]:
    """Mark gold items agreed by every layer; the others are marked decided (ids d1, d2, ...).
    Returns nothing the decisions file uses: `decisions` keys decisions the way adjudicate does."""
    decisions: list[str] = []
    for what, name in (("entities", "entity"), ("events", "event")):
        found = [{_key(x) for x in layer[what]} for layer in layers]
        for item in gold[what]:
            key = _key(item)
            having = [layer["annotator"] for layer, keys in zip(layers, found) if key in keys]
            if layers and len(having) == len(layers):
                item["provenance"] = {"method": "agreed", "annotators": having}
                continue
            did = f"d{len(decisions) + 1}"
            item["provenance"] = {"method": "decision", "decision": did}
            decisions.append(did)
    return decisions


def decisions(record: dict, layers: list[dict], onto: Ontology) -> list[dict]:
    """A decision for every item the layers disagree on, keyed as `raidcorpus adjudicate` keys
    them, so that adjudicating the synthetic layers runs to the end (each takes the first layer
    that has the item)."""
    indexed = {layer["annotator"]: align.index_layer(layer) for layer in layers}
    made: list[dict] = []
    for _ in range(4):  # deciding an item can bring up items that hang on it
        outcome = gold.build_gold(record["id"], indexed, made, record, onto)
        if not outcome.undecided:
            break
        for c in outcome.undecided:
            have = [a for a, v in c.versions.items() if v is not None and v != "absent"] or sorted(c.versions)
            made.append({"id": f"d{len(made) + 1}", "item": c.key, "action": "take", "layer": have[0],
                         "reason": "matches the article on reading"})
    return made


# --- the corpus -------------------------------------------------------------------------------


@dataclass
class Summary:
    docs: int = 0
    files: int = 0
    entities: int = 0
    events: int = 0
    clusters: int = 0

    def line(self) -> str:
        return (f"{self.docs} documents, {self.entities} entity mentions, {self.events} events, "
                f"{self.clusters} cross-document clusters in {self.files} files")


def stories(seed: int, n_docs: int, onto: Ontology):
    """Yield (document index, anchor or None, story id): documents grouped into shared stories."""
    index, k = 0, 0
    while index < n_docs:
        k += 1
        rng = random.Random(f"{seed}/story/{k}")
        size = rng.choices((1, 2, 3), (0.6, 0.25, 0.15))[0]
        story = f"story-{k:06d}"
        anchor = _story_anchor(rng, onto, story) if size > 1 else None
        split = rng.choices([s for s, _ in SPLITS], [w for _, w in SPLITS])[0]
        for _ in range(min(size, n_docs - index)):
            yield index, anchor, split
            index += 1


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _dump_yaml(obj) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(obj, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000)


def write_document(out: Path, seed: int, annotators: int, task: tuple) -> dict:
    """Generate and write one document with its layers; returns what the corpus-wide files need."""
    index, anchor, split = task
    onto = load_ontology()
    made = make_document(seed, index, onto, anchor)
    record, gold = made["record"], made["gold"]
    doc_id = record["id"]
    layers = [
        annotator_layer(gold, f"annotator-{k}", random.Random(f"{seed}/doc/{index}/annotator-{k}"), onto, record["text"])
        for k in range(1, annotators + 1)
    ]
    if layers:
        add_provenance(gold, layers)
    decided = decisions(record, layers, onto) if len(layers) >= 2 else []
    _write(out / "corpus" / f"{doc_id}.json", fileio.dumps_json(record))
    folder = out / "annotations" / doc_id
    for layer in layers:
        _write(folder / f"{layer['annotator']}.json", fileio.dumps_json(layer))
    _write(folder / "gold.json", fileio.dumps_json(gold))
    if decided:
        text = _dump_yaml({"kind": "decisions", "schema_version": onto.version, "document": doc_id,
                           "decisions": decided})
        _write(folder / "decisions.yaml", text.encode("utf-8"))
    return {"id": doc_id, "split": split, "story": anchor, "evidence": made["evidence"],
            "files": 2 + len(layers) + bool(decided), "entities": len(gold["entities"]), "events": len(gold["events"])}


def _cross_cluster(anchor: Anchor, docs: list[dict]) -> dict:
    return {
        "id": anchor.story, "type": anchor.event_type,
        "name": f"{anchor.event_type} in {anchor.place}, {anchor.date.isoformat()}",
        "date": anchor.date.isoformat(), "date_precision": "day",
        "place": anchor.place, "place_precision": "town",
        "members": [{"document": d["id"], "event": ev} for d in docs for ev in d["evidence"]["events"]],
        "reports": [{"field": "killed", "document": d["id"], "value": d["evidence"]["killed"],
                     "evidence": d["evidence"]["span"]} for d in docs],
    }


RUN_DOCS = 32  # documents a worker makes at a time
WORKER_DIED = "synth: a worker process died (killed, or out of memory?); run again, or with --jobs 1"


def _runs(tasks) -> Iterator[list[tuple]]:
    tasks = iter(tasks)
    while run := list(islice(tasks, RUN_DOCS)):
        yield run


def _write_run(context: tuple, run: list[tuple]) -> list[dict]:
    out, seed, annotators = context
    return [write_document(out, seed, annotators, task) for task in run]


def synth(n_docs: int, seed: int, out: Path, annotators: int = 2, jobs: int = 1) -> Summary:
    """Write a synthetic corpus of `n_docs` documents under `out`, streaming one document at a time.

    With jobs > 1 documents are made in worker processes; the bytes do not depend on `jobs`.
    """
    if n_docs < 1:
        raise UserError("--docs must be at least 1", 2)
    if annotators < 0 or annotators > 9:
        raise UserError("--annotators must be between 0 and 9", 2)
    if jobs < 1:
        raise UserError("--jobs must be at least 1", 2)
    from .dataset import outdir

    onto = load_ontology()
    # never into the repository (it would overwrite splits.yaml and clusters.yaml) or a folder of other files
    out = outdir.check(Path(out), own=lambda f: {p.name for p in f.iterdir()} <= {"corpus", "annotations", "splits.yaml", outdir.MARKER})
    out.mkdir(parents=True, exist_ok=True)
    (out / outdir.MARKER).write_text(outdir.MARKER_TEXT, encoding="utf-8")
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    summary = Summary(files=2)
    splits: dict[str, list[str]] = {name: [] for name, _ in SPLITS}
    runs = _runs(stories(seed, n_docs, onto))
    results = (done for run in workers.in_order(_write_run, (out, seed, annotators), runs, jobs, WORKER_DIED) for done in run)
    with open(out / "annotations" / "clusters.yaml", "w", encoding="utf-8", newline="\n") as clusters:
        clusters.write(_dump_yaml({"kind": "event_clusters", "schema_version": onto.version}) + "clusters:")
        story: list[dict] = []

        def close():
            if len(story) >= 2:
                clusters.write("\n" + _dump_yaml([_cross_cluster(story[0]["story"], story)]).rstrip("\n"))
                summary.clusters += 1
            story.clear()

        for done in results:
            summary.docs += 1
            summary.files += done["files"]
            summary.entities += done["entities"]
            summary.events += done["events"]
            splits[done["split"]].append(done["id"])
            anchor = done["story"]
            if not story or anchor is None or story[0]["story"].story != anchor.story:
                close()
            if anchor is not None:
                story.append(done)
        close()
        clusters.write((" []" if not summary.clusters else "") + "\n")
    splits_text = _dump_yaml({"kind": "splits", "schema_version": onto.version, "splits": splits})
    _write(out / "splits.yaml", splits_text.encode("utf-8"))
    # A changelog section, so that `raidcorpus build --root OUT --version 0.0.0` works on the output.
    _write(out / "CHANGELOG.md", CHANGELOG.format(docs=n_docs, seed=seed, annotators=annotators).encode("utf-8"))
    summary.files += 1
    return summary
