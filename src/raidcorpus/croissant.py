"""croissant.json: the folder described in the MLCommons Croissant vocabulary.

Made with mlcroissant's own classes, so what it writes is what it validates. One FileObject per
Parquet file (with its sha256) and one RecordSet per config and split, over the config's top-level scalar
columns; the nested columns are typed in the dataset card's features.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import mlcroissant as mlc
from datasets import ClassLabel, Value

from . import release
from .features import for_config

_TYPES = {"string": mlc.DataType.TEXT, "int32": mlc.DataType.INTEGER, "int64": mlc.DataType.INTEGER}


def _data_type(feature):
    if isinstance(feature, ClassLabel):
        return mlc.DataType.INTEGER
    if isinstance(feature, Value):
        return _TYPES.get(feature.dtype)
    return None


def metadata(folder: Path, facts: dict) -> mlc.Metadata:
    from .build import parquet_name
    from .card import LICENSES

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
            set_id = f"{config}-{split}"
            fields = []
            for column, feature in for_config(config).items():
                dtype = _data_type(feature)
                if dtype is None:
                    continue
                desc = f"ClassLabel index; names: {', '.join(feature.names)}" if isinstance(feature, ClassLabel) else None
                fields.append(
                    mlc.Field(
                        id=f"{set_id}/{column}", name=column, description=desc, data_types=[dtype],
                        source=mlc.Source(file_object=rel, extract=mlc.Extract(column=column)),
                    )
                )
            record_sets.append(
                mlc.RecordSet(id=set_id, name=set_id, description=f"The {config} config, {split} split.", fields=fields)
            )
    variant = facts["variant"]
    name = "raid-attack-events" + ("-standoff" if variant == "standoff" else "")
    return mlc.Metadata(
        name=name,
        description=(
            "News articles about counter-terrorism raids and terrorist attacks annotated with entities, events, "
            "arguments, attributes and coreference" + (" (annotations only, no article text)." if variant == "standoff" else ".")
        ),
        url=f"https://huggingface.co/datasets/OWNER/{name}",
        version=facts["version"],
        license=[LICENSES[variant][0]],
        cite_as=f"Raid and attack events, version {facts['version']} ({facts['date']}).",
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
