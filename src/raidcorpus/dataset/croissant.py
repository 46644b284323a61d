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
from .card import AUTHORS, CC_BY, LICENSES, hub_url, repo_of
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


def _sub_fields(struct: dict, set_id: str, column: str, source, prefix: tuple[str, ...] = ()) -> list:
    """The sub-fields of a list of structs: one per scalar (through nested structs) and a repeated one
    per list of scalars (cluster members, provenance annotators), each read with a JSON path."""
    out = []
    for key, feature in struct.items():
        path = prefix + (key,)
        name = ".".join(path)
        fid = f"{set_id}/{column}/{name}"
        if isinstance(feature, dict):
            out += _sub_fields(feature, set_id, column, source, path)
        elif _data_type(feature) is not None:
            out.append(mlc.Field(id=fid, name=name, description=_description(feature), data_types=[_data_type(feature)],
                                 repeated=True, source=source(transforms=[mlc.Transform(json_path=name)])))
        elif isinstance(feature, List) and _data_type(feature.feature) is not None:
            out.append(mlc.Field(id=fid, name=name, description=_description(feature.feature), data_types=[_data_type(feature.feature)],
                                 repeated=True, source=source(transforms=[mlc.Transform(json_path=name)])))
    return out


def _inner_lists(struct: dict, prefix: tuple[str, ...] = ()) -> list[str]:
    """Lists of structs inside a struct (event arguments in events): mlcroissant reads one level of
    sub-fields only, so these are named in the description instead of described as fields."""
    out = []
    for key, feature in struct.items():
        if isinstance(feature, dict):
            out += _inner_lists(feature, prefix + (key,))
        elif isinstance(feature, List) and isinstance(feature.feature, dict):
            out.append(".".join(prefix + (key,)))
    return out


def _list_description(column: str, struct: dict) -> str:
    inner = _inner_lists(struct)
    text = f"One entry per item of the {column} list."
    if inner:
        text += (f" Its lists of structs ({', '.join(inner)}) are a second level of nesting, which mlcroissant does not"
                 f" read as fields: they are in the Parquet column (event arguments are also sub-records of the"
                 f" mentions record sets, one record per event mention).")
    return text


def _fields(set_id: str, rel: str, features) -> list:
    """Fields of a record set: scalar columns; lists of scalars (tokens, tags, ids) as repeated fields;
    lists of structs (entities, events, arguments, clusters, reports, mentions) as repeated fields with
    sub-fields (see _sub_fields)."""
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
            out.append(mlc.Field(id=f"{set_id}/{column}", name=column, repeated=True, data_types=[],
                                 sub_fields=_sub_fields(feature.feature, set_id, column, source),
                                 description=_list_description(column, feature.feature)))
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
    # Licences as URLs: the annotations are CC BY 4.0; the full variant's article texts are under the
    # terms of its LICENSE.md, given at the tagged revision of the Hub repository.
    licenses = [CC_BY] + ([f"{hub_url(facts)}/blob/v{facts['version']}/LICENSE.md"] if variant == "full" else [])
    return mlc.Metadata(
        name=name,
        description=(
            "News articles about counter-terrorism raids and terrorist attacks annotated with entities, events, "
            "arguments, attributes and coreference" + (" (annotations only, no article text)." if variant == "standoff" else ".")
            + f" Licence: {LICENSES[variant][1]}"
        ),
        url=hub_url(facts),
        version=facts["version"],
        license=licenses,
        cite_as=(
            f"@misc{{raidcorpus_{facts['version']}, author = {{{{{AUTHORS}}}}}, title = {{Raid and attack events: an annotated "
            f"corpus of counter-terrorism raids and terrorist attacks}}, year = {{{facts['date'][:4]}}}, "
            f"version = {{{facts['version']}}}, howpublished = {{Hugging Face dataset}}, url = {{{hub_url(facts)}}}, "
            f"note = {{Version {facts['version']}, revision v{facts['version']}}}}}"
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
