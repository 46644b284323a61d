"""Pick the 60 MUC-4 test messages (TST3 + TST4) that are annotated in the full ontology (issue 27).

The list must be reproducible from the committed files alone, so it is made here from
sources/muc34 by a written rule and a fixed seed, not by hand. The rule, in order:

1. Candidates: the 200 messages of TST3 and TST4, less TST3-MUC4-0087, a near duplicate of the
   training message DEV-MUC3-1133 (sources/README.md): its text is already in train.
2. Shared incidents: two messages report the same incident when their keys give the same
   victim or target name (the first two words of a HUM TGT: NAME, the first three of a PHYS
   TGT: ID) with INCIDENT: DATEs that overlap ("- 13 NOV 89", MUC's "on or before", overlaps
   every earlier day). Messages linked so are grouped (transitively); every group of two or
   more messages is taken whole, largest first (ties by first id), while the groups taken hold
   at most CLUSTERED messages.
3. Every incident type: for each type of the keys (ARSON, ATTACK, BOMBING, FORCED WORK
   STOPPAGE, KIDNAPPING, ROBBERY), rarest first, messages with a template of that type are
   added, in seeded random order, until the sample holds PER_TYPE of them (or all there are).
4. Irrelevant messages (every key template `*`): added in seeded random order up to IRRELEVANT.
5. The rest: relevant messages in seeded random order, TST3 and TST4 taken in turn, up to SIZE.

The list is a plain text file (one id a line, `#` comments), not YAML: every YAML file under
annotations/ is read by `raidcorpus validate` as a record of a kind the schema defines.

Usage: python scripts/muc-sample.py            # print the list
       python scripts/muc-sample.py --write    # write annotations/muc-sample.txt
       python scripts/muc-sample.py --check    # exit 1 when the committed file differs
"""

from __future__ import annotations

import random
from datetime import date, datetime
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "sources" / "muc34" / "TASK" / "CORPORA"
OUT = ROOT / "annotations" / "muc-sample.txt"
SEED = 27  # the number
SIZE, CLUSTERED, PER_TYPE, IRRELEVANT = 60, 16, 3, 15
EXCLUDED = {"TST3-MUC4-0087": "near duplicate of the training message DEV-MUC3-1133"}
SETS = {  # set -> (upper-case text, mixed-case text or None, key file)
    "TST3": ("tst3/tst3-muc4", None, "tst3/key-tst3.v2"),
    "TST4": ("tst4/tst4-muc4", "tst4/tst4-muc4.mixed-case", "tst4/key-tst4.v2"),
}


def read_message_ids(path: Path) -> list[str]:
    """The message ids of a text file, in file order (each message starts with its id on a line)."""
    return re.findall(r"^(TST\d-MUC4-\d{4})\s*$", path.read_text(encoding="ascii"), re.M)


def read_templates(path: Path) -> list[dict[str, list[str]]]:
    """The key templates of a key file: field name -> its lines (continuations included)."""
    templates, current, field = [], None, None
    for line in path.read_text(encoding="ascii").splitlines():
        head = re.match(r"^\s*(\d+)\.\s+([A-Z ]+:\s?[A-Z ]+?)\s{2,}(.*)$", line) or re.match(r"^\s*(\d+)\.\s+([A-Z ]+:\s?[A-Z ]+?)\s*$", line)
        if head:
            field = head.group(2).strip()
            if field == "MESSAGE: ID":
                current = {}
                templates.append(current)
            current.setdefault(field, []).append(head.group(3).strip() if head.lastindex == 3 else "")
        elif line.strip() and current is not None and field:
            current[field].append(line.strip())
    return templates


def incident_types(template: dict[str, list[str]]) -> set[str]:
    """The incident types of a template ("ATTACK / BOMBING" is both); none for an irrelevant one."""
    value = " ".join(template.get("INCIDENT: TYPE", [])).strip()
    if value in ("", "*", "-"):
        return set()
    return {t.strip() for t in value.split("/") if t.strip()}


def names(template: dict[str, list[str]]) -> set[str]:
    """Victim and target names that identify an incident, cut to their first words so that spellings
    of one name meet ("HECTOR OQUELI" and "HECTOR OQUELI COLINDRES"): the first two words of a
    HUM TGT: NAME of two words or more, the first three of a PHYS TGT: ID of three or more."""
    found = set()
    for field, words in (("HUM TGT: NAME", 2), ("PHYS TGT: ID", 3)):
        for line in template.get(field, []):
            for name in re.findall(r'"([^"]+)"', line):
                if len(name.split()) >= words:
                    found.add(" ".join(name.split()[:words]))
    return found


def real_day(text: str) -> date | None:
    """A key's "DD MON YY" as a date; None for one that is no calendar day (a DEV key has one)."""
    try:
        return datetime.strptime(text, "%d %b %y").date()
    except ValueError:
        return None


def date_spans(template: dict[str, list[str]]) -> list[tuple[date, date]]:
    """The days INCIDENT: DATE allows, as (first, last) spans: "12 JAN 90" is one day, "11 NOV 89 -
    13 NOV 89" a range, "- 13 NOV 89" any day up to it (MUC's "on or before"); "/" separates
    alternatives, each a span of its own."""
    spans = []
    for part in " ".join(template.get("INCIDENT: DATE", [])).split("/"):
        days = [day for d in re.findall(r"\b\d{2} [A-Z]{3} \d{2}\b", part) if (day := real_day(d))]
        if len(days) == 1 and part.strip(" ()").startswith("-"):
            spans.append((date.min, days[0]))
        elif days:
            spans.append((min(days), max(days)))
    return spans


def load() -> dict[str, dict]:
    """Every candidate message: its set, templates, incident types and (name, date) keys."""
    messages = {}
    for set_name, (upper, mixed, key) in SETS.items():
        for mid in read_message_ids(CORPORA / upper):
            messages[mid] = {"set": set_name, "mixed": mixed is not None, "templates": []}
        for template in read_templates(CORPORA / key):
            messages[template["MESSAGE: ID"][0]]["templates"].append(template)
    for mid, m in messages.items():
        m["types"] = set().union(*(incident_types(t) for t in m["templates"])) if m["templates"] else set()
        m["relevant"] = bool(m["types"])
        m["links"] = [(name, span) for t in m["templates"] for name in names(t) for span in date_spans(t)]
    return {mid: m for mid, m in messages.items() if mid not in EXCLUDED}


def shared_incident_groups(messages: dict[str, dict]) -> list[list[str]]:
    """Groups of messages linked (transitively) by a shared name with overlapping dates, largest first."""
    parent = {mid: mid for mid in messages}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ids = sorted(messages)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if any(na == nb and sa[0] <= sb[1] and sb[0] <= sa[1]
                   for na, sa in messages[a]["links"] for nb, sb in messages[b]["links"]):
                parent[find(b)] = find(a)
    groups: dict[str, list[str]] = {}
    for mid in sorted(messages):
        groups.setdefault(find(mid), []).append(mid)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def pick(messages: dict[str, dict]) -> tuple[list[str], dict[str, str], list[list[str]]]:
    """The sample (sorted ids), why each id was taken, and the shared-incident groups taken."""
    rng = random.Random(SEED)
    chosen: dict[str, str] = {}
    groups = []
    for group in shared_incident_groups(messages):
        if len(chosen) + len(group) <= CLUSTERED:
            groups.append(group)
            for mid in group:
                chosen[mid] = "shared incident"
    all_types = sorted({t for m in messages.values() for t in m["types"]},
                       key=lambda t: (sum(t in m["types"] for m in messages.values()), t))
    for kind in all_types:
        pool = [mid for mid in sorted(messages) if kind in messages[mid]["types"]]
        rng.shuffle(pool)
        for mid in pool:
            if sum(kind in messages[c]["types"] for c in chosen) >= PER_TYPE:
                break
            chosen.setdefault(mid, f"incident type {kind}")
    pool = [mid for mid in sorted(messages) if not messages[mid]["relevant"] and mid not in chosen]
    rng.shuffle(pool)
    for mid in pool[:max(0, IRRELEVANT - sum(not messages[c]["relevant"] for c in chosen))]:
        chosen[mid] = "irrelevant"
    pools = {}
    for set_name in SETS:
        pools[set_name] = [mid for mid in sorted(messages) if messages[mid]["relevant"] and messages[mid]["set"] == set_name and mid not in chosen]
        rng.shuffle(pools[set_name])
    turn = list(SETS)
    while len(chosen) < SIZE and any(pools.values()):
        for set_name in turn:
            if pools[set_name] and len(chosen) < SIZE:
                chosen[pools[set_name].pop(0)] = "relevant, filler"
    return sorted(chosen), chosen, groups


def render(messages: dict[str, dict]) -> str:
    """The list: the rule in its comment, then one corpus id a line with its types and reason."""
    ids, why, groups = pick(messages)
    counts = {t: sum(t in messages[i]["types"] for i in ids) for t in sorted({t for m in messages.values() for t in m["types"]})}
    lines = [
        "# The 60 MUC-4 test messages (TST3 + TST4) annotated in the full ontology (issue 27): one",
        "# corpus id a line (the MUC message id, lower-cased), then its key's incident types and why",
        "# it was taken. Made by scripts/muc-sample.py from sources/muc34 (seed %d); never edit by" % SEED,
        "# hand: change the script and run `python scripts/muc-sample.py --write` (a test fails when",
        "# this file is stale).",
        "#",
        "# Rule (the script's docstring says it in full): leave out TST3-MUC4-0087 (a near duplicate",
        "# of train's DEV-MUC3-1133); take whole every group of messages whose keys share a victim or",
        "# target name with overlapping incident dates (largest groups first, at most %d messages), so" % CLUSTERED,
        "# that cross-document clusters exist; then, rarest type first, messages of each incident type",
        "# until %d of that type are in; then irrelevant messages (no template) up to %d; then relevant" % (PER_TYPE, IRRELEVANT),
        "# messages from TST3 and TST4 in turn, in seeded random order, up to %d." % SIZE,
        "#",
        "# Text shown to annotators: TST4 messages from tst4/tst4-muc4.mixed-case (the original case),",
        "# TST3 messages from tst3/tst3-muc4 (upper case only); both under sources/muc34/TASK/CORPORA.",
        "#",
        "# In the sample: %d relevant, %d irrelevant; %d from TST3, %d from TST4. Messages per incident" % (
            sum(messages[i]["relevant"] for i in ids), sum(not messages[i]["relevant"] for i in ids),
            sum(messages[i]["set"] == "TST3" for i in ids), sum(messages[i]["set"] == "TST4" for i in ids)),
        "# type (a message can have several): " + ", ".join(f"{t} {n}" for t, n in counts.items()) + ".",
        "# Groups reporting a shared incident:",
    ]
    lines += ["#   " + " + ".join(mid.lower() for mid in g) for g in groups]
    lines.append("#   left out: " + ", ".join(f"{k.lower()} ({v})" for k, v in EXCLUDED.items()))
    for mid in ids:
        types = ", ".join(sorted(messages[mid]["types"])) or "irrelevant"
        lines.append(f"{mid.lower()}  # {types}; {why[mid]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(load())
    if "--write" in argv:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")
    elif "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"stale: {OUT.relative_to(ROOT)} (run 'python scripts/muc-sample.py --write')", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
