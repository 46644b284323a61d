"""The pseudonym table, annotations/annotators.yaml, and the naming of an export's annotators.

Annotators are pseudonymous: the table maps (server, user id) to annotator-N, never an e-mail
address. `pull` and `annotators add` both name users through it, so one person keeps one name.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from . import convert, fileio, ontology
from .errors import UserError
from .records import Reader

ANNOTATORS_FILE = "annotators.yaml"


class Annotators:
    """The pseudonym table, annotations/annotators.yaml: which Label Studio user is which annotator-N.

    A key is `SERVER/USER`: SERVER names the Label Studio server (see labelstudio.Server.identity:
    a digest of its organization's id and creation time, the same from every machine and token),
    USER is the server's user id, or `annotation-N` for an annotation whose user was deleted
    before it was first pulled. Nothing in it is secret or personal, so every maintainer with a
    token gets the same pseudonyms with no file copied by hand. New users are numbered in the
    order they first appear (by server user id within one pull). 64-hex keys are the salted
    digests of 0.1.0, whose salt is gone: they keep annotator-1 and annotator-2 taken.
    """

    def __init__(self, path: str | Path, server: str | None = None):
        self.path = Path(path)
        self.server = server
        data = Reader(level=1).read(self.path, "annotators") if self.path.exists() else {}
        table = data.get("annotators") if isinstance(data, dict) else None
        if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
            table = {} if not self.path.exists() else None
        if table is None:
            raise UserError(f"{self.path}: not a pseudonym table (expected `annotators:` mapping names to lists of keys)")
        self.table: dict[str, list[str]] = {str(k): [str(x) for x in v] for k, v in table.items()}
        self.owner = {key: name for name, keys in self.table.items() for key in keys}

    def servers(self) -> list[str]:
        return sorted({k.split("/", 1)[0] for k in self.owner if "/" in k})

    def mine(self) -> set[str]:
        """Pseudonyms of users of this server."""
        prefix = f"{self.server}/"
        return {name for key, name in self.owner.items() if key.startswith(prefix)}

    def lookup(self, user: str) -> str | None:
        return self.owner.get(f"{self.server}/{user}")

    def pseudonym(self, user: str, name: str | None = None) -> str:
        """The pseudonym of `user` (a user id or `annotation-N`) on this server; a new one if unseen
        (or `name`, for a deleted user known from an earlier record)."""
        key = f"{self.server}/{user}"
        if key in self.owner:
            return self.owner[key]
        if name is None:
            taken = {int(n.rsplit("-", 1)[1]) for n in self.table if re.fullmatch(r"annotator-\d+", n)}
            name = f"annotator-{max(taken, default=0) + 1}"
        self.table.setdefault(name, []).append(key)
        self.owner[key] = name
        return name

    def dump(self) -> bytes:
        head = ("# Which Label Studio user is which annotator, written by `raidcorpus pull` (do not edit).\n"
                "# A key is SERVER/USER: SERVER names a Label Studio server (16 hex digits of the sha256 of its\n"
                "# organization's id and creation time), USER its user id, or annotation-N for an annotation whose\n"
                "# user was deleted before its first pull. No e-mail address, token or secret is stored.\n"
                "# The 64-hex keys are the salted digests of release 0.1.0 (salt gone); they keep those names taken.\n")
        body = yaml.safe_dump({"kind": "annotators", "schema_version": ontology.load().version, "annotators": self.table},
                              sort_keys=True, allow_unicode=True)
        return (head + body).encode("utf-8")


def _existing(annotations_dir: Path, names: Annotators) -> dict[Path, tuple]:
    """This server's annotators' records on disk: path -> (task id, annotation id)."""
    out = {}
    mine = names.mine()
    if not mine or not annotations_dir.is_dir():
        return out
    for path in annotations_dir.glob("*/*.json"):
        if path.stem not in mine or path.parent.name == "raw":
            continue
        path = fileio.inside(annotations_dir, path.parent.name, path.name)  # never read or remove through a link
        record = fileio.read_json(path)
        source = record.get("source") if isinstance(record, dict) else None
        if isinstance(source, dict):
            out[path] = (source.get("label_studio_task"), source.get("label_studio_annotation"))
    return out


def name_annotators(tasks: list[dict], annotations_dir: str | Path, server: str | None) -> tuple[Annotators, dict, dict]:
    """(pseudonym table, this server's records on disk, (task id, annotation id) -> pseudonym) for an export."""
    annotations_dir = Path(annotations_dir)
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError("not a Label Studio JSON export: expected a list of task objects")
    names = Annotators(annotations_dir / ANNOTATORS_FILE, server)
    if names.server is None:
        known = names.servers()
        if len(known) > 1:
            raise UserError(f"{names.path} names {len(known)} servers ({', '.join(known)}): say which one the export "
                            "came from with --server", 2)
        names.server = known[0] if known else "unknown"
    existing = _existing(annotations_dir, names)
    by_ids = {ids: path.stem for path, ids in existing.items()}

    # New users get their pseudonym in order of their server id; annotations whose user was
    # deleted keep the pseudonym of the record they already made, else one of their own.
    live = [(t, a) for t in tasks for a in t.get("annotations") or () if isinstance(a, dict) and not a.get("was_cancelled")]
    who: dict[tuple, str] = {}
    users = sorted({u for _, a in live if isinstance(u := convert.annotation_user(a)[0], int)})
    for uid in users:
        names.pseudonym(str(uid))
    for t, a in sorted(live, key=lambda ta: (str(ta[1].get("id")),)):
        uid = convert.annotation_user(a)[0]
        ids = (t.get("id"), a.get("id"))
        if uid is None:
            who[ids] = names.pseudonym(f"annotation-{a.get('id')}", by_ids.get(ids))
        else:
            who[ids] = names.pseudonym(str(uid))
    return names, existing, who
