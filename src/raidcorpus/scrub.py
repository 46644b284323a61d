"""Scrub personal data from a Label Studio export before it is kept in annotations/raw/.

The export names users in many places besides `completed_by`: drafts (which the labelling screen
saves on its own) carry `user` and `created_username` as e-mail addresses, annotations carry
`created_username`, tasks carry `updated_by` and `comment_authors`, and user objects may carry
e-mail addresses and names. Every such field becomes the user's pseudonym (annotator-N) when the
user has one, else `unknown-user`; a user object becomes its numeric server id, which
annotations/annotators.yaml maps to the pseudonym (ids are not personal data and keep `convert`
of a kept export working). Any e-mail address left anywhere else outside the article text and the
annotation results is replaced too. Pure: the export is not changed in place.
"""

from __future__ import annotations

import re
from typing import Any, Callable

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Fields that name a user (an id, an e-mail address, "email, id", or a user object).
USER_FIELDS = {"completed_by", "updated_by", "last_created_by", "created_by", "user", "created_username",
               "owner", "reviewer", "reviewed_by", "assignee", "annotator", "comment_authors", "annotators"}
# Fields of a user object that identify a person.
PERSON_FIELDS = {"email", "first_name", "last_name", "username", "avatar", "initials", "phone", "name"}
# Subtrees that hold article text (or spans of it): never rewritten, their hashes must hold.
TEXT_FIELDS = {"data", "result"}
UNKNOWN = "unknown-user"
REMOVED = "[e-mail removed]"


def scrub(export: Any, pseudonym: Callable[[int], str | None], email_ids: dict[str, int] | None = None) -> Any:
    """A copy of `export` without e-mail addresses, names or usernames. `pseudonym(user id)` gives a
    user's pseudonym (or None); `email_ids` maps known e-mail addresses (lower case) to user ids."""
    emails = {k.strip().lower(): v for k, v in (email_ids or {}).items() if isinstance(k, str)}

    def name_of(value) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return value  # a server user id: kept, annotators.yaml maps it to the pseudonym
        if isinstance(value, dict):
            uid = value.get("id")
            return uid if isinstance(uid, int) else UNKNOWN
        if isinstance(value, list):
            return [name_of(v) for v in value]
        if isinstance(value, str):
            m = re.search(r",\s*(\d+)\s*$", value)  # "someone@example.org, 7"
            uid = int(m.group(1)) if m else emails.get(value.strip().lower())
            if uid is None and value.strip().isdigit():
                uid = int(value.strip())
            return (pseudonym(uid) if uid is not None else None) or UNKNOWN
        return UNKNOWN

    def walk(obj, key=None):
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if k in TEXT_FIELDS:
                    out[k] = v
                elif k in USER_FIELDS:
                    out[k] = name_of(v)
                elif k in PERSON_FIELDS and isinstance(v, str) and v:
                    out[k] = UNKNOWN if k != "email" else REMOVED
                else:
                    out[k] = walk(v, k)
            return out
        if isinstance(obj, list):
            return [walk(v, key) for v in obj]
        if isinstance(obj, str) and "@" in obj:
            return EMAIL.sub(REMOVED, obj)
        return obj

    return walk(export)
