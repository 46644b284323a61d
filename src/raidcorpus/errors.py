"""Error slugs and the one-line problem format shared by every command.

Every problem names the file, the document id, a JSON pointer and a stable slug, so that
a maintainer can jump to it and a script can group by it. The catalogue below is the only
list of slugs; tests keep one golden invalid fixture per slug.
"""

from __future__ import annotations

from dataclasses import dataclass

# slug -> (level, what it means). L0: the file itself; L1: JSON Schema; L2: structure; L3: content.
SLUGS: dict[str, tuple[int, str]] = {
    "unreadable-file": (0, "the file cannot be opened or read"),
    "empty-file": (0, "the file is empty"),
    "not-utf8": (0, "the file is not valid UTF-8"),
    "invalid-json": (0, "the file is not valid JSON"),
    "trailing-garbage": (0, "valid JSON followed by extra bytes"),
    "invalid-yaml": (0, "the file is not valid YAML"),
    "yaml-alias": (0, "a YAML alias (*name or <<: *name): hand-written files write every value out"),
    "duplicate-key": (0, "a key given twice in one YAML mapping (the later one would silently win)"),
    "too-large": (0, "a file or article beyond its documented size ceiling (see docs/safety.md)"),
    "bad-muc-file": (0, "a MUC-3/4 message file with text before its first message, or a mixed-case file that differs from its upper-case twin beyond letter case"),
    "bad-schema": (0, "a schema file (--schema) that is not a JSON Schema, or lacks the parts the ontology is read from"),
    "unsafe-path": (0, "a path that is a symbolic link or would lead outside its folder"),
    "missing-kind": (1, "the record does not say which kind of record it is"),
    "unknown-kind": (1, "the record's kind is not one the schema defines"),
    "missing-field": (1, "a required field is missing"),
    "unknown-field": (1, "a field the schema does not define"),
    "wrong-type": (1, "a value of the wrong JSON type"),
    "unknown-type": (1, "an entity or event type the ontology does not define"),
    "role-not-allowed": (1, "a role the event type does not allow"),
    "filler-type-not-allowed": (1, "an entity type that may not fill the role"),
    "bad-attribute": (1, "an attribute value the ontology does not define, or one not allowed for this type"),
    "bad-normalized-value": (1, "a TIME or NUM normalized value in the wrong form, or one on another type"),
    "bad-id": (1, "an id, document id or annotator id in the wrong form"),
    "schema-mismatch": (1, "any other JSON Schema violation"),
    "duplicate-id": (2, "an id used twice in one record (or a document id twice in the corpus)"),
    "dangling-reference": (2, "a reference to an id that does not exist"),
    "argument-type-mismatch": (2, "an argument's stated filler type differs from the entity's type"),
    "cluster-overlap": (2, "a mention in two coreference clusters, or a gold event in two cross-document clusters"),
    "cluster-mixed-types": (2, "a coreference cluster that mixes entity types or event types, or a cross-document cluster member (or set) of another type"),
    "cluster-splits-coreference": (2, "a within-document event cluster split across cross-document clusters, or only partly listed in one"),
    "cluster-member-not-eligible": (2, "a cross-document cluster member that is generic, negative or a Movement, or a cluster of unconfirmed mentions only"),
    "cluster-series-loop": (2, "cross-document clusters whose part_of links form a loop"),
    "unknown-document": (2, "a document id that is not in the corpus"),
    "split-leak": (2, "documents that share a cross-document event cluster are in different splits"),
    "near-duplicate-across-splits": (3, "two near-duplicate texts in different splits, not acknowledged in splits.yaml's near_duplicates"),
    "duplicate-annotation": (2, "two records for the same document and annotator"),
    "unaligned-prediction": (2, "a scored prediction that cannot be placed on the gold side: a document number or a sentence window gold does not have"),
    "bad-span": (3, "a span whose end is not after its start"),
    "offset-out-of-range": (3, "a span outside the document's text"),
    "span-text-mismatch": (3, "text[start:end] differs from the stored span text"),
    "text-hash-mismatch": (3, "the record's text hash differs from the corpus"),
    "span-inside-word": (3, "a span that starts or ends inside a word, not marked as a deliberate sub-word span"),
    "cluster-date-precision": (3, "a cross-document cluster date not in the form its date_precision names"),
    "cluster-date-out-of-range": (3, "a cross-document cluster date after a member document's publication date, or outside its set's date"),
    "cluster-date-conflict": (3, "a member event's Time outside the cluster date and not recorded as a date report"),
    "bad-time": (3, "a TIME value that is not a real date or time, or an interval that ends before it starts"),
    "stale-decision": (3, "an adjudication decision that matches no item of the annotator layers beside it, or takes an item they all agree on"),
    "quotes-test-document": (3, "the guidelines quote eight or more consecutive words of a test-split document"),
    "bad-removed-range": (3, "a corpus record whose text is not its raw text less the removed ranges"),
    # Adjudication (gold.py, adjudicate.py): decisions that cannot be applied, and items left to decide.
    "bad-item-key": (1, "a decision's item key not in the form of a gold item key (entity:TYPE:S-E, event:, attr:, arg:, coref:)"),
    "duplicate-decision": (2, "a decision id used twice in a document's decisions, or two decisions on one item"),
    "decision-not-possible": (3, "a decision whose action cannot apply to its item (take from a layer without it, add an attribute, an end not in gold)"),
    "bad-decision-value": (3, "an edit or add decision whose value gives fields, offsets or attributes its item cannot have"),
    "decision-conflict": (3, "decisions that contradict each other: two items made one, or a rejected link that accepted links join"),
    "undecided": (3, "an item the annotator layers disagree on, with no decision: adjudication does not choose for the curators"),
    # Label Studio results that cannot be converted to a record (convert.py); they stay in the raw
    # export. A problem a record can have too keeps the record's slug (offset-out-of-range,
    # span-text-mismatch, bad-normalized-value, dangling-reference).
    "unknown-label": (1, "a Label Studio label, relation label or choice the ontology does not define"),
    "multiple-labels": (1, "a Label Studio span with more than one label"),
    "several-values": (1, "a Label Studio normalized text area with more than one value"),
    "unknown-result": (1, "a Label Studio result of a type or control the config does not define"),
    "attribute-out-of-scope": (1, "a Label Studio attribute or normalized value on a region it does not apply to"),
    "duplicate-region": (2, "two Label Studio spans with the same region id"),
    "choice-without-region": (2, "a Label Studio per-region choice or text area whose region does not exist"),
    "bad-relation": (2, "a Label Studio relation between the wrong kinds of regions"),
    # Label Studio's server (labelstudio.py): the address is the request's URL, the level is 0.
    "ls-unreachable": (0, "the Label Studio server cannot be reached, or did not answer in time"),
    "ls-token-rejected": (0, "the Label Studio server rejected the token (401), or the token may not do this (403)"),
    "ls-not-found": (0, "the Label Studio server has no such path or object (404): often a wrong URL"),
    "ls-refused": (0, "the Label Studio server refused the request (another 4xx), with its reason"),
    "ls-server-error": (0, "the Label Studio server failed (5xx or 429) on every try, or on a request that is not retried"),
    "ls-not-label-studio": (0, "a reply that is not JSON of the shape Label Studio gives: something else answers at the URL"),
}

@dataclass(frozen=True, order=True)
class Problem:
    """One error, addressed: file, document id, JSON pointer, slug and a human message."""

    path: str
    doc: str | None
    pointer: str
    slug: str
    message: str

    @property
    def level(self) -> int:
        return SLUGS[self.slug][0]

    def line(self) -> str:
        return f"{self.path} doc={self.doc or '-'} {self.pointer or '/'} [{self.slug}] {self.message}"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "doc": self.doc,
            "pointer": self.pointer or "/",
            "slug": self.slug,
            "level": self.level,
            "message": self.message,
        }


class UserError(Exception):
    """A failure the user can fix: printed as one line, never as a traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ProblemError(UserError):
    """A failure made of addressed problems: the first is the one line shown, with a count of the others.
    Commands raise it rather than formatting `path doc=ID /pointer [slug] message` by hand."""

    def __init__(self, problems: list[Problem] | Problem, shown_root: str | None = None, exit_code: int = 1):
        problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems = problems
        first = problems[0].line()
        if shown_root:
            first = first.replace(shown_root.rstrip("/") + "/", "", 1)
        more = f" (and {len(problems) - 1} more; run 'raidcorpus validate')" if len(problems) > 1 else ""
        super().__init__(first + more, exit_code)


def pointer(parts) -> str:
    """A JSON pointer (RFC 6901) from path parts."""
    out = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return out or "/"
