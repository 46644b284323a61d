"""croissant.json: the folder described in the MLCommons Croissant vocabulary.

Made with mlcroissant's own classes, so what it writes is what it validates. One FileObject per
Parquet file (with its sha256) and one RecordSet per config and split: scalar columns, lists of
scalars as repeated fields, and lists of structs (entities, events, arguments, clusters, ...) as
repeated fields with one sub-field per scalar of the struct.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import mlcroissant as mlc
from datasets import ClassLabel, List, Value

from . import release
from .card import AUTHORS, LICENSES, hub_url, repo_of
from .layout import parquet_name
from .features import for_config

_TYPES = {"string": mlc.DataType.TEXT, "int32": mlc.DataType.INTEGER, "int64": mlc.DataType.INTEGER}


def _data_type(feature):
    if isinstance(feature, ClassLabel):
        return mlc.DataType.INTEGER
    if isinstance(feature, Value):
        return _TYPES.get(feature.dtype)
    return None


def _description(feature) -> str | None:
    return f"ClassLabel index; names: {', '.join(feature.names)}" if isinstance(feature, ClassLabel) else None


def _leaves(struct: dict, prefix: tuple[str, ...] = ()):
    """(path, feature) of every scalar inside a struct, through nested structs but not through lists."""
    for key, feature in struct.items():
        if isinstance(feature, dict):
            yield from _leaves(feature, prefix + (key,))
        elif _data_type(feature) is not None:
            yield prefix + (key,), feature


def _fields(set_id: str, rel: str, features) -> list:
    """Fields of a record set: scalar columns; lists of scalars (tokens, tags, ids) as repeated fields;
    lists of structs (entities, events, arguments, clusters, reports, mentions) as repeated fields with a
    sub-field per scalar of the struct (read with a JSON path; lists nested deeper are left to the card)."""
    out = []
    for column, feature in features.items():
        source = lambda **kw: mlc.Source(file_object=rel, extract=mlc.Extract(column=column), **kw)  # noqa: E731
        if _data_type(feature) is not None:
            out.append(mlc.Field(id=f"{set_id}/{column}", name=column, description=_description(feature),
                                 data_types=[_data_type(feature)], source=source()))
        elif isinstance(feature, List) and _data_type(feature.feature) is not None:
            out.append(mlc.Field(id=f"{set_id}/{column}", name=column, description=_description(feature.feature),
                                 data_types=[_data_type(feature.feature)], repeated=True, source=source()))
        elif isinstance(feature, List) and isinstance(feature.feature, dict):
            subs = [
                mlc.Field(id=f"{set_id}/{column}/{'.'.join(path)}", name=".".join(path), description=_description(leaf),
                          data_types=[_data_type(leaf)], repeated=True,
                          source=source(transforms=[mlc.Transform(json_path=".".join(path))]))
                for path, leaf in _leaves(feature.feature)
            ]
            out.append(mlc.Field(id=f"{set_id}/{column}", name=column, repeated=True, data_types=[], sub_fields=subs,
                                 description=f"One entry per item of the {column} list."))
    return out


def metadata(folder: Path, facts: dict) -> mlc.Metadata:
    files, record_sets = [], []
    for config in facts["configs"]:
        splits = [s for s in facts["splits"] if s in facts["num_rows"].get(config, {})]
        for split in splits:
            rel = f"{config}/{parquet_name(split)}"
            files.append(
                mlc.FileObject(
                    id=rel, name=rel, content_url=rel, encoding_formats=["application/x-parquet"],
                    sha256=release.sha256_file(folder / rel),
                )
            )
            if not facts["num_rows"][config][split]:
                continue  # the file is listed (and hashed), but an empty split is no record set
            set_id = f"{config}-{split}"
            record_sets.append(
                mlc.RecordSet(id=set_id, name=set_id, description=f"The {config} config, {split} split.",
                              fields=_fields(set_id, rel, for_config(config)))
            )
    variant = facts["variant"]
    name = repo_of(facts).split("/", 1)[1]
    license_url = {"full": "LICENSE.md", "standoff": "https://creativecommons.org/licenses/by/4.0/"}[variant]
    return mlc.Metadata(
        name=name,
        description=(
            "News articles about counter-terrorism raids and terrorist attacks annotated with entities, events, "
            "arguments, attributes and coreference" + (" (annotations only, no article text)." if variant == "standoff" else ".")
            + f" Licence: {LICENSES[variant][1]}"
        ),
        url=hub_url(facts),
        version=facts["version"],
        license=[license_url],
        cite_as=(
            f"@misc{{raidcorpus_{facts['version']}, author = {{{{{AUTHORS}}}}}, title = {{Raid and attack events: an annotated "
            f"corpus of counter-terrorism raids and terrorist attacks}}, year = {{{facts['date'][:4]}}}, "
            f"version = {{{facts['version']}}}, url = {{{hub_url(facts)}}}}}"
        ),
        creators=[mlc.Organization(name=AUTHORS, url=hub_url(facts))],
        date_published=datetime.datetime.fromisoformat(facts["date"]),
        in_language=["en"],
        keywords=["event extraction", "terrorism", "named entity recognition", "coreference"],
        personal_sensitive_information=["The articles name suspects, victims and officials of terrorism cases."],
        data_biases=["English-language Western news outlets about a few events in Belgium and France."],
        distribution=files,
        record_sets=record_sets,
    )


def render(folder: Path, facts: dict) -> str:
    return json.dumps(metadata(folder, facts).to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
