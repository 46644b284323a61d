"""Annotator accounts on a Label Studio server: `raidcorpus annotators add EMAIL`.

The account is made with the organization's invitation (so it works on a team server whose
open sign-up is closed) and a random password. The password goes to the person: printed once
on the terminal, or written to a file of the maintainer's choice outside the repository
(mode 600). It never reaches the repository, a log or the pseudonym table. The new account gets
its pseudonym in annotations/annotators.yaml at once (the one `pull` will use); what is printed
names the account by that pseudonym and its user id, never by its address, and the account's
name in Label Studio is the pseudonym, so the screens show it instead of the address.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

from . import fileio
from .errors import UserError
from .labelstudio import LabelStudio
from .pseudonyms import ANNOTATORS_FILE, Annotators

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _repository(path: Path) -> Path | None:
    """The git work tree holding `path`, if any."""
    try:
        top = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(top.stdout.strip()).resolve() if top.returncode == 0 and top.stdout.strip() else None


def add(server: LabelStudio, email: str, credentials: str | Path | None = None, annotations_dir: str | Path = "annotations") -> list[str]:
    """Create the account and give it its pseudonym; return the lines to show (the password only
    when no file is given; never the address)."""
    email = email.strip()
    if not EMAIL.match(email):
        raise UserError(f"not an e-mail address: {email!r}", 2)
    target = None
    if credentials is not None:
        target = Path(credentials).expanduser().resolve()
        if not target.parent.is_dir():
            raise UserError(f"{credentials}: no such folder", 2)
        if _repository(target.parent) is not None:
            raise UserError(f"{credentials}: inside a git repository; write credentials outside any repository", 2)
        if target.exists():
            raise UserError(f"{credentials}: exists already; choose a new file", 2)
    server.check()
    names = Annotators(Path(annotations_dir) / ANNOTATORS_FILE, server.identity())  # a broken table stops here, before the account
    if any(u["email"].lower() == email.lower() for u in server.users()):
        raise UserError(f"an account for this address exists already at {server.shown}")
    password = secrets.token_urlsafe(15)
    server.signup(email, password)
    user = next((u for u in server.users() if u["email"].lower() == email.lower()), None)
    if user is None:
        raise UserError(f"Label Studio at {server.shown} did not create the account")
    pseudonym = names.pseudonym(str(user["id"]))
    fileio.write_bytes_atomic(names.path, names.dump())
    server.name_user(user["id"], pseudonym)  # Label Studio shows the name, not the address, beside the person's work
    lines = [f"account created at {server.shown}: user id {user['id']}, {pseudonym} in {names.path} (commit it)",
             "the login is the address you gave; the password goes to the person, never into the repository"]
    if target is None:
        lines.append(f"password (shown once): {password}")
    else:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"url={server.url}\nlogin={email}\npassword={password}\n")
        lines.append(f"login and password written to {target} (mode 600): give it to the person, then delete it")
    return lines
