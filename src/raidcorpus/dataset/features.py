"""The dataset's typed features, one Features per config, built from the ontology.

Closed vocabularies become ClassLabels whose names come from the schema, so a new type or
attribute value in the schema reaches the dataset without a second list here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from datasets import ClassLabel, Features, List, Value

from .. import ontology
from . import muc_rows

CONFIGS = ("documents", "events", "mentions", "entity_mentions", "ner", "annotators", "bigbio_kb", "templates", "ree")
STANDOFF_CONFIGS = ("documents", "annotators", "clusters")
# Made from the MUC keys (muc_rows): a build without muc4-key records leaves them out (an empty
# config does not load: datasets finds "no data" for its splits).
KEY_CONFIGS = ("templates", "ree")

# How the events config's rows arise (see build.event_rows).
EVENT_ROW_SOURCES = ("cross_document_cluster", "document_cluster", "mention")

# Reported figures that get their own column in the events config (GTD nkill / nwound / nperpcap).
FIGURES = ("killed", "injured", "arrested")


def _labels(names) -> ClassLabel:
    return ClassLabel(names=list(names))


def schema_values(*path: str) -> tuple[str, ...]:
    """The closed values of a schema node given by its path under $defs (oneOf consts or an enum)."""
    node = ontology.load_schema()["$defs"]
    for part in path:
        node = node[part]
    if "enum" in node:
        return tuple(node["enum"])
    return tuple(o["const"] for o in node["oneOf"])


def _span() -> dict:
    return {"start": Value("int32"), "end": Value("int32"), "text": Value("string")}


def _provenance() -> dict:
    return {
        "method": _labels(schema_values("Provenance", "properties", "method")),
        "annotators": List(Value("string")),
        "decision": Value("string"),
    }


def _entity() -> dict:
    onto = ontology.load()
    fields = {
        "id": Value("string"),
        "type": _labels(onto.entity_names),
        "start": Value("int32"),
        "end": Value("int32"),
        "text": Value("string"),
    }
    for attr in onto.entity_attributes:
        fields[attr.name] = _labels(attr.names)
    fields["normalized"] = Value("string")
    fields["provenance"] = _provenance()
    return fields


def _event() -> dict:
    onto = ontology.load()
    return {
        "id": Value("string"),
        "type": _labels(onto.event_names),
        "trigger": _span(),
        "arguments": List(
            {"role": _labels(onto.role_names), "entity_id": Value("string"), "entity_type": _labels(onto.entity_names)}
        ),
        "attributes": {a.name: _labels(a.names) for a in onto.event_attributes},
        "cluster_id": Value("string"),
        "cross_document_id": Value("string"),
        "provenance": _provenance(),
    }


def _clusters() -> List:
    return List({"id": Value("string"), "members": List(Value("string"))})


def _layer() -> dict:
    return {
        "entities": List(_entity()),
        "events": List(_event()),
        "entity_clusters": _clusters(),
        "event_clusters": _clusters(),
    }


def documents() -> Features:
    """One row per article (BigBIO kb style, extended with attributes, clusters and provenance)."""
    return Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "outlet": Value("string"),
            "published": Value("string"),
            "language": Value("string"),
            "url": Value("string"),
            "text": Value("string"),
            "text_sha256": Value("string"),
            "annotators": List(Value("string")),
            **_layer(),
        }
    )


def events() -> Features:
    """One flat row per real-world event (GTD / ACLED spirit)."""
    onto = ontology.load()
    fields = {
        "id": Value("string"),
        "source": _labels(EVENT_ROW_SOURCES),
        "type": _labels(onto.event_names),
        "name": Value("string"),
        "trigger": Value("string"),
    }
    for attr in onto.event_attributes:
        fields[attr.name] = _labels(attr.names)
    fields.update(
        {
            "time": Value("string"),
            "date": Value("string"),
            "date_precision": _labels(schema_values("CrossCluster", "properties", "date_precision")),
            "place": Value("string"),
            "place_precision": _labels(schema_values("CrossCluster", "properties", "place_precision")),
            "perpetrators": List(Value("string")),
            "targets": List(Value("string")),
            "weapons": List(Value("string")),
            **{name: Value("int32") for name in FIGURES},
            "disputed": List(Value("string")),
            "reports": List(
                {"field": Value("string"), "document": Value("string"), "value": Value("string"), "evidence": _span()}
            ),
            "documents": List(Value("string")),
            "mentions": List({"id": Value("string"), "document": Value("string"), "event": Value("string")}),
            "note": Value("string"),
        }
    )
    return Features(fields)


# mentions and entity_mentions store closed-vocabulary values as their names (plain strings), so
# that a row reads in one line; the names are the schema's, listed in the card.


def _mention_head() -> dict:
    return {
        "id": Value("string"),
        "document": Value("string"),
        "sentence": Value("int32"),
        "sentence_text": Value("string"),
        "sentence_offset": Value("int32"),
        "type": Value("string"),
    }


def _offsets() -> dict:
    return {k: Value("int32") for k in ("start", "end", "sentence_start", "sentence_end")}


def mentions() -> Features:
    """One row per gold event mention: trigger, attributes and arguments with their fillers' text."""
    onto = ontology.load()
    return Features(
        {
            **_mention_head(),
            "trigger": Value("string"),
            **_offsets(),
            **{a.name: Value("string") for a in onto.event_attributes},
            "arguments": List(
                {
                    "role": Value("string"),
                    "entity_id": Value("string"),
                    "entity_type": Value("string"),
                    "text": Value("string"),
                    "start": Value("int32"),
                    "end": Value("int32"),
                    "sentence": Value("int32"),
                    "sentence_start": Value("int32"),
                    "sentence_end": Value("int32"),
                    "entity_cluster_id": Value("string"),
                }
            ),
            "cluster_id": Value("string"),
            "cross_document_id": Value("string"),
            "provenance": Value("string"),
        }
    )


def entity_mentions() -> Features:
    """One row per gold entity mention, with its coreference cluster."""
    onto = ontology.load()
    return Features(
        {
            **_mention_head(),
            "text": Value("string"),
            **_offsets(),
            **{a.name: Value("string") for a in onto.entity_attributes},
            "normalized": Value("string"),
            "cluster_id": Value("string"),
            "provenance": Value("string"),
        }
    )


def ner_tags() -> tuple[str, ...]:
    tags = ["O"]
    for name in ontology.load().entity_names:
        tags += [f"B-{name}", f"I-{name}"]
    return tuple(tags)


def ner() -> Features:
    """One row per sentence: spaCy tokens, their character offsets in the article text, BIO tags."""
    return Features(
        {
            "id": Value("string"),
            "document": Value("string"),
            "sentence": Value("int32"),
            "tokens": List(Value("string")),
            "token_starts": List(Value("int32")),
            "token_ends": List(Value("int32")),
            "ner_tags": List(_labels(ner_tags())),
        }
    )


def annotators() -> Features:
    """One row per document and annotator layer (gold included), for agreement research."""
    return Features(
        {"document": Value("string"), "annotator": Value("string"), "text_sha256": Value("string"), **_layer()}
    )


def clusters() -> Features:
    """Standoff only: the cross-document clusters as curated, evidence spans without their text."""
    return Features(
        {
            "id": Value("string"),
            "type": _labels(ontology.load().event_names),
            "name": Value("string"),
            "date": Value("string"),
            "date_precision": Value("string"),
            "place": Value("string"),
            "place_precision": Value("string"),
            "members": List({"document": Value("string"), "event": Value("string")}),
            "reports": List(
                {"field": Value("string"), "document": Value("string"), "value": Value("string"), "evidence": _span()}
            ),
            "note": Value("string"),
        }
    )


def bigbio_kb() -> Features:
    """BigBIO's kb schema (bigscience-workshop/biomedical): types as plain strings, spans as
    lists of text pieces with [start, end] offsets (see dataset/bigbio.py)."""
    pieces = {"text": List(Value("string")), "offsets": List(List(Value("int32")))}
    norm = List({"db_name": Value("string"), "db_id": Value("string")})
    return Features(
        {
            "id": Value("string"),
            "document_id": Value("string"),
            "passages": List({"id": Value("string"), "type": Value("string"), **pieces}),
            "entities": List({"id": Value("string"), "type": Value("string"), **pieces, "normalized": norm}),
            "events": List({
                "id": Value("string"), "type": Value("string"), "trigger": pieces,
                "arguments": List({"role": Value("string"), "ref_id": Value("string")}),
            }),
            "coreferences": List({"id": Value("string"), "entity_ids": List(Value("string"))}),
            "relations": List({"id": Value("string"), "type": Value("string"), "arg1_id": Value("string"),
                               "arg2_id": Value("string"), "normalized": norm}),
        }
    )


def for_config(name: str) -> Features:
    """The features of a config, made from the schema in use."""
    return _for_config(name, ontology.current_path())


@lru_cache(maxsize=None)
def _for_config(name: str, schema: Path) -> Features:
    return {
        "documents": documents, "events": events, "mentions": mentions, "entity_mentions": entity_mentions,
        "ner": ner, "annotators": annotators, "clusters": clusters, "bigbio_kb": bigbio_kb,
        "templates": muc_rows.templates_features, "ree": muc_rows.ree_features,
    }[name]()


def _labelled(feature) -> bool:
    """Whether a ClassLabel sits anywhere inside the feature; columns without one go to Arrow
    as they are, which is most of a row."""
    if isinstance(feature, ClassLabel):
        return True
    if isinstance(feature, List):
        return _labelled(feature.feature)
    if isinstance(feature, dict):
        return any(_labelled(f) for f in feature.values())
    return False


# --- class labels encoded on Arrow columns ------------------------------------------------


def plain_type(feature) -> pa.DataType:
    """The Arrow type of a feature with every ClassLabel left as its name (a string)."""
    if isinstance(feature, ClassLabel):
        return pa.string()
    if isinstance(feature, List):
        return pa.list_(plain_type(feature.feature))
    if isinstance(feature, dict):
        return pa.struct([(k, plain_type(f)) for k, f in feature.items()])
    return Features({"x": feature}).arrow_schema.field("x").type


class ArrowEncoder:
    """Rows with class names -> an Arrow table of the config's schema, class names replaced by
    their indices column by column (one vectorised lookup per ClassLabel instead of a Python
    call per value). The one row encoder: rows added one by one and the build's runs of rows
    both go through it, so the same rows give the same Parquet bytes."""

    def __init__(self, features: Features):
        self.features = features
        self.schema = features.arrow_schema
        self.plain = pa.struct([(k, plain_type(f)) for k, f in features.items()])
        self.labelled = {k for k, f in features.items() if _labelled(f)}

    def table(self, rows: list[dict]) -> pa.Table:
        """Raises ValueError (naming the value, not the row) when a value is not a class name the
        schema allows, and Arrow's ValueError or TypeError when a value has the wrong type.

        The rows go to Arrow as one struct array, which reads each dict in C++: Table.from_pylist
        first makes a Python list per column (0.59 against 0.44 ms of CPU per document for all
        of a document's rows, same tables)."""
        plain = pa.Table.from_struct_array(pa.array(rows, type=self.plain))
        columns = []
        for name, feature in self.features.items():
            column = plain.column(name)
            if name in self.labelled:
                target = self.schema.field(name).type
                column = pa.chunked_array([_labels_to_indices(c, feature, target) for c in column.chunks], type=target)
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=self.schema)


def _labels_to_indices(array: pa.Array, feature, target: pa.DataType) -> pa.Array:
    if not _labelled(feature):
        return array
    if isinstance(feature, ClassLabel):
        index = pc.index_in(array, value_set=pa.array(list(feature.names), pa.string()))
        if index.null_count != array.null_count:
            unknown = pc.filter(array, pc.and_(pc.is_null(index), pc.is_valid(array)))
            raise ValueError(repr(unknown[0].as_py()))
        return index.cast(target)
    mask = array.is_null() if array.null_count else None
    if isinstance(feature, List):
        values = _labels_to_indices(array.values, feature.feature, target.value_type)
        return pa.ListArray.from_arrays(array.offsets, values, type=target, mask=mask)
    fields = array.flatten()  # children with the struct's own nulls carried into them
    children = [_labels_to_indices(fields[i], f, target.field(i).type) for i, f in enumerate(feature.values())]
    return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)
