#!/usr/bin/env python3
"""Annotator accounts on the local Label Studio, and submitting records as their annotations.

    .venv/bin/python scripts/ls-annotator.py add NAME
    .venv/bin/python scripts/ls-annotator.py submit NAME annotations/<doc>/<layer>.json ...

`add` signs up NAME@annotators.invalid with a random password and keeps the password and the
account's own API token in .label-studio/annotators/NAME.json (mode 600, never printed).
`submit` sends each record (converted to Label Studio results) as that account's annotation of
the matching task, so `raidcorpus pull` brings it back under the account's pseudonym.
Server: --url or LABEL_STUDIO_URL; project: --project or the schema's title.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from raidcorpus import labelstudio, ontology, push  # noqa: E402
from raidcorpus.errors import UserError  # noqa: E402


def store(name: str) -> Path:
    data = Path(os.environ.get("LABEL_STUDIO_DATA") or ROOT / ".label-studio")
    return data / "annotators" / f"{name}.json"


def add(url: str, name: str) -> str:
    path = store(name)
    if path.exists():
        return f"annotator {name} already exists ({path.name})"
    email = f"{name}@annotators.invalid"
    password = secrets.token_urlsafe(18)
    admin = labelstudio.Server(url, labelstudio.resolve_token(prompt=False))
    token = labelstudio.signup(url, email, password, invite=admin.invite_token())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"email": email, "password": password, "token": token}, f)
    return f"annotator {name} created: log in as {email}; password and token in {path}"


def submit(url: str, name: str, project: str, records: list[str], corpus: str) -> list[str]:
    path = store(name)
    if not path.exists():
        raise UserError(f"no annotator {name!r}: run `ls-annotator.py add {name}` first")
    token = json.loads(path.read_text())["token"]
    server = labelstudio.Server(url, token)
    return [f"{r}: {push.submit(server, project, r, corpus)}" for r in records]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("--project", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add", help="create an annotator account with its own token")
    a.add_argument("name")
    s = sub.add_parser("submit", help="submit annotation records as that annotator")
    s.add_argument("name")
    s.add_argument("records", nargs="+")
    s.add_argument("--corpus", default="corpus")
    args = parser.parse_args(argv)
    try:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,40}", args.name):
            raise UserError(f"annotator name {args.name!r}: use lower-case letters, digits and hyphens", 2)
        url = labelstudio.resolve_url(args.url)
        if args.command == "add":
            print(add(url, args.name))
        else:
            for line in submit(url, args.name, args.project or ontology.load().title, args.records, args.corpus):
                print(line)
    except UserError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
