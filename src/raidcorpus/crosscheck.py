"""validate's checks of the cross-document event clusters (annotations/clusters.yaml).

GUIDELINES.md section 12 says what a cluster is; this module checks what of it a program can:
members have the cluster's type and may be clustered at all (12.1), a gold event is in one
cluster and a within-document event cluster is listed whole (12.2), sets named by `part_of`
exist, have the same type and form no loop (12.3), dates are real, in their precision's form and
within what the sources allow (12.4), and the change log names real days and clusters (12.8).
Whether two events are the same, or a date the right one, is left to the reviewer.

The functions are pure: the caller passes how to read a document's gold layer (as gold_facts
gives it) and publication date, so the checks run the same on the repository and on the test
fixtures, and build can hand them what its workers took of each document in passing.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Callable, Iterator, NamedTuple

from . import isotime
from .errors import Problem, pointer

#: event types that never get a cross-document cluster (GUIDELINES 12.1)
NO_CLUSTER_TYPES = ("Movement",)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMS = {
    "day": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "YYYY-MM-DD"),
    "week": (re.compile(r"^\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2}$"), "a Monday-Sunday interval YYYY-MM-DD/YYYY-MM-DD"),
    "month": (re.compile(r"^\d{4}-\d{2}$"), "YYYY-MM"),
    "year": (re.compile(r"^\d{4}$"), "YYYY"),
    "interval": (re.compile(r"^\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2}$"), "YYYY-MM-DD/YYYY-MM-DD"),
}
#: precisions whose end must not pass the earliest publication date (month and year are coarser)
_BOUNDED = ("day", "week", "interval")


class Event(NamedTuple):
    """What the checks read of a gold event a cluster names: its type, whether it is generic,
    negative or known only from unconfirmed mentions (GUIDELINES 12.1), and its Time mentions with a
    normalized value, as (text, normalized, start, end)."""

    type: str
    generic: bool
    negative: bool
    unconfirmed: bool
    times: tuple[tuple[str, str, int, int], ...]


class GoldFacts(NamedTuple):
    """What the checks read of a document's gold layer: the events clusters name that are in it (an
    event not here is not in the layer), and its event clusters that hold one, as (id, members)."""

    events: dict[str, Event]
    event_clusters: tuple[tuple[str, tuple[str, ...]], ...]


def gold_facts(record: dict, named) -> GoldFacts:
    """The GoldFacts of a sound gold layer for the events `named` in it: under a kilobyte a document,
    as build's workers send them back for every document a cluster names."""
    times = {e["id"]: e for e in record.get("entities", []) if e.get("type") == "TIME" and e.get("normalized")}
    events = {}
    for e in record["events"]:
        if e["id"] not in named:
            continue
        attrs = e.get("attributes", {})
        mentions = tuple((t["text"], t["normalized"], t["start"], t["end"]) for a in e.get("arguments", [])
                         if a.get("role") == "Time" and (t := times.get(a["entity"])))
        events[e["id"]] = Event(sys.intern(e["type"]), attrs.get("genericity") == "generic", attrs.get("polarity") == "negative",
                                attrs.get("evidentiality") == "unconfirmed", mentions)
    clusters = tuple((c["id"], tuple(c["members"])) for c in record.get("event_clusters", []) if any(m in named for m in c["members"]))
    return GoldFacts(events, clusters)


Gold = Callable[[str], "GoldFacts | None"]
Published = Callable[[str], "str | None"]


def _days(value: str) -> tuple[dt.date, dt.date]:
    lo, hi = isotime.bounds(value)
    return lo.date(), hi.date()


def date_form_problem(value: str, precision: str) -> tuple[str, str] | None:
    """(slug, message) when a real date `value` is not in the form `precision` names."""
    pattern, form = _FORMS[precision]
    if not pattern.match(value):
        return "cluster-date-precision", f"date {value!r} is not in the form of precision {precision!r} ({form})"
    if precision in ("week", "interval"):
        lo, hi = _days(value)
        if precision == "week" and (lo.weekday() != 0 or hi - lo != dt.timedelta(days=6)):
            return "cluster-date-precision", f"date {value!r} is not a Monday-Sunday week"
        if precision == "interval" and hi <= lo:
            return "cluster-date-precision", f"interval {value!r} does not end after it starts (a single day is precision 'day')"
    return None


def _overlaps(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def cluster_problems(record: dict, path: str, gold: Gold, published: Published, level: int = 3) -> list[Problem]:
    """Every problem of a clusters record that needs the gold layers, the corpus or other clusters."""
    clusters = record.get("clusters") or []
    by_id = {c["id"]: c for c in clusters}
    problems: list[Problem] = []
    problems += _membership(clusters, path, gold)
    problems += _series(clusters, by_id, path)
    if level >= 3:
        problems += _dates(clusters, by_id, path, gold, published)
    problems += _changes(record.get("changes") or [], by_id, path)
    return problems


def _gold_event(gold: Gold, doc: str, event: str) -> Event | None:
    record = gold(doc)
    return None if record is None else record.events.get(event)


def _membership(clusters: list[dict], path: str, gold: Gold) -> Iterator[Problem]:
    """Types, eligibility, one cluster per gold event, within-document clusters kept whole."""
    where: dict[tuple[str, str], tuple[str, int, int]] = {}
    for i, c in enumerate(clusters):
        confirmed = False
        for j, m in enumerate(c["members"]):
            at = pointer(["clusters", i, "members", j])
            key = (m["document"], m["event"])
            if key in where:
                yield Problem(path, m["document"], at, "cluster-overlap",
                              f"event {m['event']} is also in cluster {where[key][0]!r}; a gold event is in at most one cross-document cluster (a set and its member are two clusters, GUIDELINES 12.3)")
                continue
            where[key] = (c["id"], i, j)
            ev = _gold_event(gold, *key)
            if ev is None:
                confirmed = True  # missing events are reported as dangling references
                continue
            if ev.type != c["type"]:
                yield Problem(path, m["document"], at, "cluster-mixed-types", f"event {m['event']} is a {ev.type}, the cluster is a {c['type']}")
            why = []
            if ev.type in NO_CLUSTER_TYPES:
                why.append(f"a {ev.type}")
            if ev.generic:
                why.append("generic")
            if ev.negative:
                why.append("negative (the text says it did not happen)")
            if why:
                yield Problem(path, m["document"], at, "cluster-member-not-eligible",
                              f"event {m['event']} is {' and '.join(why)}; such events get no cross-document cluster (GUIDELINES 12.1)")
            if not ev.unconfirmed:
                confirmed = True
        if c["members"] and not confirmed:
            yield Problem(path, None, pointer(["clusters", i]), "cluster-member-not-eligible",
                          f"cluster {c['id']!r} has only unconfirmed members; an event known only from unconfirmed mentions gets no cluster (GUIDELINES 12.1)")
    # a within-document event cluster is listed whole, in one cross-document cluster
    for doc in sorted({d for d, _ in where}):
        record = gold(doc)
        if record is None:
            continue
        for ec_id, members in record.event_clusters:
            homes = {ev: where.get((doc, ev)) for ev in members}
            listed = {h[0] for h in homes.values() if h}
            if not listed:
                continue
            missing = [ev for ev, h in homes.items() if h is None]
            first = next(h for h in homes.values() if h)
            at = pointer(["clusters", first[1], "members", first[2]])
            if len(listed) > 1:
                spread = ", ".join(f"{ev} in {h[0]}" for ev, h in homes.items() if h)
                yield Problem(path, doc, at, "cluster-splits-coreference",
                              f"gold event cluster {ec_id} is split across cross-document clusters ({spread}); its mentions are one event (GUIDELINES 12.2)")
            elif missing:
                yield Problem(path, doc, at, "cluster-splits-coreference",
                              f"cluster {first[0]!r} lists part of gold event cluster {ec_id}: {', '.join(missing)} missing (GUIDELINES 12.2)")


def _series(clusters: list[dict], by_id: dict[str, dict], path: str) -> Iterator[Problem]:
    """part_of names an existing cluster of the same type, and never loops."""
    for i, c in enumerate(clusters):
        parent = c.get("part_of")
        if parent is None:
            continue
        at = pointer(["clusters", i, "part_of"])
        if parent not in by_id:
            yield Problem(path, None, at, "dangling-reference", f"part_of names cluster {parent!r}, which does not exist")
            continue
        if by_id[parent]["type"] != c["type"]:
            yield Problem(path, None, at, "cluster-mixed-types", f"cluster {c['id']!r} is a {c['type']} but its set {parent!r} is a {by_id[parent]['type']}")
        seen, node = [c["id"]], parent
        while node is not None and node in by_id:
            if node in seen:
                yield Problem(path, None, at, "cluster-series-loop", f"part_of loops: {' -> '.join(seen + [node])}")
                break
            seen.append(node)
            node = by_id[node].get("part_of")


def _dates(clusters: list[dict], by_id: dict[str, dict], path: str, gold: Gold, published: Published) -> Iterator[Problem]:
    """Real dates in their precision's form, within what the sources allow (GUIDELINES 12.4)."""
    spans: dict[str, tuple[dt.date, dt.date]] = {}
    for i, c in enumerate(clusters):
        at = pointer(["clusters", i, "date"])
        if isotime.problem(c["date"]):
            continue  # not a real date: validate reports it as bad-time
        bad = date_form_problem(c["date"], c["date_precision"])
        if bad:
            yield Problem(path, None, at, bad[0], bad[1])
            continue
        spans[c["id"]] = span = _days(c["date"])
        docs = list(dict.fromkeys(m["document"] for m in c["members"]))
        dates = {d: published(d) for d in docs}
        known = {d: p for d, p in dates.items() if p and _DAY.match(p)}
        if known:
            first_doc = min(known, key=known.get)
            limit = dt.date.fromisoformat(known[first_doc])
            if span[0] > limit or (c["date_precision"] in _BOUNDED and span[1] > limit):
                yield Problem(path, first_doc, at, "cluster-date-out-of-range",
                              f"date {c['date']} runs past {limit}, the publication date of member document {first_doc} (GUIDELINES 12.4)")
        reported = {(r["document"], r["evidence"]["start"], r["evidence"]["end"]) for r in c.get("reports", []) if r.get("field") == "date"}
        for j, m in enumerate(c["members"]):
            ev = _gold_event(gold, m["document"], m["event"])
            if ev is None:
                continue
            for text, normalized, start, end in ev.times:
                why = isotime.problem(normalized)
                if why or _overlaps(span, _days(normalized)):
                    continue
                if (m["document"], start, end) in reported:
                    continue
                yield Problem(path, m["document"], pointer(["clusters", i, "members", j]), "cluster-date-conflict",
                              f"event {m['event']} is dated {text!r} = {normalized}, outside the cluster's {c['date']}; "
                              f"record it as a 'date' report with evidence {start}-{end} or correct the date (GUIDELINES 12.4)")
    for i, c in enumerate(clusters):
        parent = c.get("part_of")
        if parent in spans and c["id"] in spans and parent != c["id"]:
            inner, outer = spans[c["id"]], spans[parent]
            if inner[0] < outer[0] or inner[1] > outer[1]:
                yield Problem(path, None, pointer(["clusters", i, "date"]), "cluster-date-out-of-range",
                              f"date {c['date']} is not within {by_id[parent]['date']}, the date of its set {parent!r} (GUIDELINES 12.3)")


def _changes(changes: list[dict], by_id: dict[str, dict], path: str) -> Iterator[Problem]:
    """Every change log entry has a real day and names a cluster that exists (unless removed)."""
    for i, ch in enumerate(changes):
        why = isotime.problem(ch["date"])
        if why:
            yield Problem(path, None, pointer(["changes", i, "date"]), "bad-time", why)
        if ch["action"] != "remove" and ch["cluster"] not in by_id:
            yield Problem(path, None, pointer(["changes", i, "cluster"]), "dangling-reference",
                          f"change {i + 1} ({ch['action']}) names cluster {ch['cluster']!r}, which does not exist")
