"""muc: the MUC-3/4 message files as NIST distributed them, read into corpus-record fields.

A file holds messages one after the other, each opening with its id line (`DEV-MUC3-0001
(NOSC)`); a message's raw text is the file from its id line to the next one, so the messages of
a file put back together are the file. Everything here is pure except `read_file`; ingest turns
what it returns into records. The dateline rule is documented in DATASHEET.md (MUC-3/4).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from pathlib import Path

from .text import clean

# The file names of the distribution: one file per 100 DEV messages, one per test set, and the
# TST4 messages again in their original letter case.
FILE_NAME = re.compile(r"^(dev-muc3-\d{4}-\d{4}|tst[1-4]-muc[34])(\.mixed-case)?$")
MIXED_CASE = ".mixed-case"
ID_LINE = re.compile(r"^(?P<id>(?P<set>DEV|TST[1-4])-MUC(?P<muc>[34])-\d{4})(?:[ \t]+\((?P<note>[^)\n]*)\))?[ \t]*$", re.M)
DATE_SOURCE = re.compile(r"^(?P<date>[^(\[]*?)\s*(?:[(\[](?P<source>.*)[)\]])?$")
DATELINE_MAX = 200  # characters before the `--`: a longer run is a body without a dateline
PLACE = re.compile(r"^(?P<city>.*?)\s*(?:\((?P<country>[^)]*)\))?$", re.S)
DAY_MONTH = re.compile(r"^(?:(?P<day>\d{1,2}) (?P<month>[A-Z]{3,9})|(?P<month2>[A-Z]{3,9}) (?P<day2>\d{1,2}))(?: (?P<yy>\d{2}))?$")
BRACKETS = re.compile(r"\s*\[([^\]]*)\]")
GENERAL_TAGS = frozenset({"TEXT", "SUMMARY", "EXCERPT", "EXCERPTS"})  # the end of a header (text-headers-info)
YEARS = range(1988, 1991)  # the distribution's messages are of 1988-1990 (sources/README.md)
MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
NO_CITY = ("CLANDESTINE", "NO CITY")

COLLECTION = "MUC-3/4 (NIST, TASK/CORPORA)"
LICENCE = ("Distributed free of charge by NIST, courtesy of FBIS; US Government translations (FBIS, 1988-1990). "
           "dstl/muc3 states that MUC-3 data is in the public domain and asks derived works to link to "
           "http://www-nlpir.nist.gov/related_projects/muc/. No other terms are claimed.")


@dataclass
class Message:
    """One message of a file: its id, the id line's note, and where its raw text starts and ends."""

    id: str
    set: str
    muc: str
    note: str | None
    start: int
    end: int
    line: int


def is_muc_file(path: Path) -> bool:
    return bool(FILE_NAME.match(path.name))


def split_messages(raw: str) -> list[Message]:
    """The messages of a file's text, in order, which cover it: blank lines before the first id line
    belong to the first message (dev-muc3-0301-0400 opens with one); other text before it is returned
    as a message with id None (the caller reports it, nothing is dropped)."""
    found = list(ID_LINE.finditer(raw))
    out = []
    if raw[: found[0].start() if found else len(raw)].strip():
        out.append(Message(None, "", "", None, 0, found[0].start() if found else len(raw), 1))
    for i, m in enumerate(found):
        start = 0 if i == 0 and not out else m.start()
        end = found[i + 1].start() if i + 1 < len(found) else len(raw)
        note = " ".join(m["note"].split()) if m["note"] is not None else None
        out.append(Message(m["id"], m["set"], m["muc"], note, start, end, raw.count("\n", 0, m.start()) + 1))
    return out


def _words(s: str) -> str:
    return " ".join(s.split())


def parse_date(written: str) -> tuple[str | None, str | None]:
    """(ISO date, None) or (None, the reason there is none) for a dateline's date as written."""
    w = _words(written).upper()
    if w == "NO DATE":
        return None, "the dateline says NO DATE"
    m = DAY_MONTH.match(w)
    if not m:
        return None, f"the dateline's date {written!r} is not of the form DD MMM YY"
    month = MONTHS.get((m["month"] or m["month2"])[:3])
    day = int(m["day"] or m["day2"])
    if month is None:
        return None, f"no month in {written!r}"
    if m["yy"] is None:
        return None, f"the dateline's date {written!r} has no year"
    year = 1900 + int(m["yy"])
    if day > calendar.monthrange(year, month)[1]:
        return None, f"{written!r} is not a real date"
    return f"{year:04d}-{month:02d}-{day:02d}", None


def header_tags(after: str) -> list[str]:
    """The bracketed groups that open a message after its dateline's `--`, up to and including the
    first general tag ([TEXT], [SUMMARY], [EXCERPT], [EXCERPTS]) and a [CONTINUED] right after it;
    a header with no general tag ends at its [CONTINUED], else it has no tags (the brackets are the body's)."""
    groups, pos = [], 0
    while m := BRACKETS.match(after, pos):
        groups.append(_words(m[1]))
        pos = m.end()
    upper = [g.upper() for g in groups]
    end = next((i + 1 for i, g in enumerate(upper) if g in GENERAL_TAGS), None)
    if end is None:
        end = upper.index("CONTINUED") + 1 if "CONTINUED" in upper else 0
    elif end < len(upper) and upper[end] == "CONTINUED":
        end += 1
    return groups[:end]


def parse_dateline(body: str) -> dict:
    """The dateline that opens a message body (`PLACE, DATE (SOURCE) --`) and the header tags after it."""
    head, dashes, after = body.partition("--")
    place, comma, rest = _words(head).partition(",")
    m = DATE_SOURCE.match(rest.strip()) if dashes and comma and len(head) <= DATELINE_MAX else None
    if not m:
        return {"written": None, "place": None, "city": None, "country": None, "date": None, "date_precision": None,
                "date_missing": "the message has no dateline (no 'PLACE, DATE --' line)", "source": None,
                "header_tags": []}
    p = PLACE.match(place)
    city = p["city"] or None
    if city and city.upper() in NO_CITY:
        city = None
    date, missing = parse_date(m["date"])
    return {"written": _words(head), "place": place, "city": city, "country": p["country"],
            "date": date, "date_precision": "day" if date else None, "date_missing": missing,
            "source": m["source"].strip() or None if m["source"] is not None else None,
            "header_tags": header_tags(after)}


def infer_bad_years(metas: list[dict]) -> None:
    """A date whose year lies outside the distribution's 1988-1990 is a typing error: its year is taken
    from the messages before and after it in the file when both are dated that one year (else the date
    is set to null, with the reason). Recorded under `inferred` with the evidence; changes `metas`."""
    for i, meta in enumerate(metas):
        dl = meta["muc"]["dateline"]
        if not dl["date"] or int(dl["date"][:4]) in YEARS:
            continue
        around = [m for m in (metas[i - 1] if i else None, metas[i + 1] if i + 1 < len(metas) else None) if m]
        years = {m["published"][:4] for m in around if m.get("published") and int(m["published"][:4]) in YEARS}
        if len(around) == 2 and len(years) == 1:
            (year,) = years
            fixed = year + dl["date"][4:]
            names = " and ".join(f"{m['muc']['message_id']} ({m['published']})" for m in around)
            meta["inferred"]["published"] = (f"the dateline reads {dl['written']!r}, year {dl['date'][2:4]}, outside "
                                             f"the distribution's 1988-1990; the year is that of the messages "
                                             f"around it, {names}")
            dl["date"] = meta["published"] = fixed
        else:
            dl["date_missing"] = f"the year of {dl['written']!r} is outside 1988-1990 and its neighbours do not agree on one"
            dl["date"] = dl["date_precision"] = meta["published"] = None


def message_meta(message: Message, raw: str, file_name: str, official: str | None) -> dict:
    """The corpus-record metadata of one message (its id, the dateline, the MUC fields); `official` is the
    official upper-case raw text of a message whose raw text is its original mixed case."""
    body = raw[ID_LINE.search(raw).end():]
    dateline = parse_dateline(body)
    mixed = any(c.islower() for c in raw)
    muc = {
        "message_id": message.id,
        "set": message.set,
        "conference": f"MUC-{message.muc}",
        "collection": COLLECTION,
        "file": file_name,
        "line": message.line,
        "id_line_note": message.note,
        "letter_case": "mixed" if mixed else "upper",
        "official_text": clean(official)[0] if official is not None else None,
        "dateline": {k: v for k, v in dateline.items() if k != "header_tags"},
        "header_tags": dateline["header_tags"],
        "licence": LICENCE,
    }
    return {"id": message.id.lower(), "title": None, "outlet": dateline["source"], "published": dateline["date"],
            "language": "en", "url": None, "inferred": {}, "muc": muc}


def read_messages(raw: str, file_name: str, official_raw: str | None = None) -> list[tuple[Message, str, dict]]:
    """(message, raw text, metadata) of every message of a file's text. `official_raw` is the official
    upper-case file of a mixed-case one: its messages must be the same, upper-cased, or a ValueError says which."""
    messages = split_messages(raw)
    if messages and messages[0].id is None:
        first = next(line for line in raw.splitlines() if line.strip())
        raise ValueError(f"text before the first message id line, from {first[:60]!r}")
    official = {}
    if official_raw is not None:
        official = {m.id: official_raw[m.start:m.end] for m in split_messages(official_raw)}
    out = []
    for m in messages:
        text = raw[m.start:m.end]
        up = official.get(m.id) if official_raw is not None else None
        if official_raw is not None and (up is None or up != text.upper()):
            raise ValueError(f"line {m.line}: {m.id} differs from the upper-case file's message, not only in letter case")
        out.append((m, text, message_meta(m, text, file_name, up)))
    infer_bad_years([meta for _, _, meta in out])
    return out


def upper_case_twin(path: Path) -> Path | None:
    """The official upper-case file of a mixed-case file (the same name less .mixed-case), if it is there."""
    if path.name.endswith(MIXED_CASE):
        twin = path.with_name(path.name[: -len(MIXED_CASE)])
        return twin if twin.is_file() else None
    return None


def mixed_case_twin(path: Path) -> Path | None:
    """The original mixed-case file of an upper-case one, which takes its place (annotators see mixed case)."""
    twin = path.with_name(path.name + MIXED_CASE)
    return twin if not path.name.endswith(MIXED_CASE) and twin.is_file() else None


def find_files(paths: list[Path]) -> tuple[list[tuple[Path, Path | None]], list[Path]]:
    """The MUC message files named or under the folders of `paths`, each as (file to read, its
    official upper-case twin or None), and the paths left for the other readers (folders stay there
    too, for their .txt and .jsonl files). A TST4 upper-case file is read through its mixed-case twin."""
    found: dict[Path, Path | None] = {}
    others = []
    for p in map(Path, paths):
        if p.is_dir():
            others.append(p)
            names = sorted(f for f in p.rglob("*") if f.is_file() and is_muc_file(f) and not any(
                part.startswith(".") for part in f.relative_to(p).parts))
        elif is_muc_file(p):
            names = [p]
        else:
            others.append(p)
            continue
        for f in names:
            mixed = mixed_case_twin(f)
            if mixed is not None:
                f = mixed
            found.setdefault(f, upper_case_twin(f))
    return list(found.items()), others
