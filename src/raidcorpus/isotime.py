"""ISO 8601 values as the schema allows them, read with the standard library.

The schema's pattern admits the shapes (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss], and an
interval of two of them joined by '/'); this module says whether a value that has the shape is a
real point in time (no 2015-02-30, no 25:99) and whether an interval ends after it starts.
"""

from __future__ import annotations

import calendar
import datetime as dt


def bounds(value: str) -> tuple[dt.datetime, dt.datetime]:
    """The first and last instants a value denotes (a month: its first and last day). ValueError if
    the value is not a real date or date-time, or an interval whose end comes before its start."""
    if "/" in value:
        first, _, second = value.partition("/")
        if "/" in second:
            raise ValueError(f"{value!r} has more than two ends")
        lo, _ = bounds(first)
        _, hi = bounds(second)
        if hi < lo:
            raise ValueError(f"the interval ends ({second}) before it starts ({first})")
        return lo, hi
    parts = value.split("-")
    try:
        if len(parts) == 1 and len(value) == 4 and value.isdigit():
            year = int(value)
            return dt.datetime(year, 1, 1), dt.datetime(year, 12, 31, 23, 59, 59)
        if len(parts) == 2 and len(parts[0]) == 4 and len(parts[1]) == 2 and value.replace("-", "").isdigit():
            year, month = int(parts[0]), int(parts[1])
            last = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
            return dt.datetime(year, month, 1), dt.datetime(year, month, last, 23, 59, 59)
        if "T" in value:
            moment = dt.datetime.fromisoformat(value)
            return moment, moment
        day = dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{value!r} is not a real date or time ({e})") from None
    if len(value) != 10:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    start = dt.datetime(day.year, day.month, day.day)
    return start, start.replace(hour=23, minute=59, second=59)


def problem(value: str) -> str | None:
    """Why `value` is not a real ISO 8601 time or ordered interval, or None if it is."""
    try:
        bounds(value)
    except ValueError as e:
        return str(e)
    return None
