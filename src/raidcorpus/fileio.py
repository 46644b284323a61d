"""Reading and writing records: strict JSON and safe YAML in, atomic pretty JSON out.

Everything read here is bounded and everything written is kept inside its folder:

- YAML is read by one strict loader: aliases (`*name`, `<<: *name`) are refused, so a few
  hundred bytes cannot expand into gigabytes, and a key given twice in one mapping is an
  error with its line and column (the later value would silently win otherwise).
- gzip input is decompressed up to MAX_DECOMPRESSED bytes, and beyond MAX_PLAIN_RATIO_FLOOR
  bytes to at most MAX_RATIO times the compressed size (JSON exports shrink about 10:1,
  decompression bombs 1000:1).
- `inside(base, *parts)` is the one way to turn untrusted names into paths to write: it
  refuses absolute paths, `..`, and symbolic links anywhere below `base`.
"""

from __future__ import annotations

import errno
import gc
import pickle
import re
import stat
from functools import lru_cache
import os
from contextlib import contextmanager
import zlib
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson
import yaml

from .errors import Problem, UserError
from .ontology import current_path, load_schema

LARGE_JSON = 1 << 20  # bytes
MAX_DECOMPRESSED = 1 << 30  # 1 GiB: no gzip input expands beyond this
MAX_RATIO = 100  # ... nor beyond this many times its compressed size,
MAX_PLAIN_RATIO_FLOOR = 16 << 20  # once past 16 MiB


class ReadError(UserError):
    """A file that cannot be turned into a record; carries its Problem, and is a UserError so
    that a command that meets one prints its one addressed line and exits 1."""

    def __init__(self, problem: Problem):
        super().__init__(problem.line())
        self.problem = problem


def _problem(path, slug, message) -> ReadError:
    return ReadError(Problem(str(path), None, "/", slug, message))


class UnsafePath(ReadError):
    """A path that would lead outside its folder: printed as one line, nothing read or written."""

    def __init__(self, path, message: str):
        super().__init__(Problem(str(path), None, "/", "unsafe-path", message))


def decompression_ceiling(compressed: int) -> int:
    """How many bytes a gzip file of `compressed` bytes may expand to."""
    return min(MAX_DECOMPRESSED, max(MAX_PLAIN_RATIO_FLOOR, MAX_RATIO * compressed))


def gunzip(path, data: bytes) -> bytes:
    """Decompress gzip bytes (every member) up to the ceiling; beyond it, a [too-large] error."""
    limit = decompression_ceiling(len(data))
    out = bytearray()
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = rest
            while chunk:
                out += d.decompress(chunk, limit + 1 - len(out))
                if len(out) > limit:
                    raise _problem(path, "too-large", f"expands beyond {limit} bytes (the ceiling for {len(data)} compressed bytes; see docs/safety.md)")
                chunk = d.unconsumed_tail
            if not d.eof:
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
            rest = d.unused_data.lstrip(b"\0")
    except (zlib.error, EOFError) as e:
        raise _problem(path, "unreadable-file", f"not a readable gzip file: {e}") from None
    return bytes(out)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_nofollow(path, flags: int) -> int:
    return os.open(path, flags | _NOFOLLOW)


def read_bytes(path: str | Path, follow: bool = True) -> bytes:
    """A file's bytes; with follow=False a symbolic link is refused by the open itself (O_NOFOLLOW),
    without a separate lstat before it."""
    try:
        with open(path, "rb", opener=None if follow else _open_nofollow) as f:
            data = f.read()
    except OSError as e:
        if not follow and e.errno == errno.ELOOP and os.path.islink(path):
            raise _link_refused(path) from None
        raise _problem(path, "unreadable-file", f"cannot read: {e.strerror or e}") from None
    if str(path).endswith(".gz"):
        if data[:2] != b"\x1f\x8b":
            raise _problem(path, "unreadable-file", "not a readable gzip file: Not a gzipped file")
        data = gunzip(path, data)
    return data


def _decode(path, data: bytes) -> str:
    if not data.strip():
        raise _problem(path, "empty-file", "the file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _problem(path, "not-utf8", f"invalid UTF-8 at byte {e.start}") from None


def loads_json(data: bytes) -> Any:
    """orjson.loads, with the garbage collector paused for large inputs: a 140 MB Label Studio
    export parsed in 4.5 s with it running (repeated full collections over millions of new
    objects) and in 1.2 s without."""
    if len(data) < LARGE_JSON or not gc.isenabled():
        return orjson.loads(data)
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        gc.enable()


@contextmanager
def gc_frozen():
    """Keep the cycle collector off the objects alive now (e.g. a parsed 10,000-task export)
    while working on them: converting such an export took 8.5 s of CPU, 4.8 s with this."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def parse_json(path, data: bytes) -> Any:
    """Parse JSON bytes strictly: empty, non-UTF-8 and trailing bytes are errors with their own slug.

    orjson itself refuses empty input and invalid UTF-8, so the bytes are decoded (to say which
    of those it is) only when parsing fails: validate reads every file once, not twice."""
    try:
        return loads_json(data)
    except orjson.JSONDecodeError as e:
        _decode(path, data)
        msg = str(e)
        if "trailing characters" in msg.lower() or "content after document" in msg.lower():
            raise _problem(path, "trailing-garbage", f"extra data after the JSON value at byte {e.pos}") from None
        raise _problem(path, "invalid-json", f"{e.msg} at line {e.lineno} column {e.colno}") from None


def read_json(path: str | Path) -> Any:
    return parse_json(path, read_bytes(path))


class _StrictYaml(Exception):
    def __init__(self, slug: str, message: str, mark):
        super().__init__(message)
        self.slug, self.message, self.mark = slug, message, mark


# libyaml's safe loader when present: the same safe subset, ten times faster on large files.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BASE_LOADER):
    """The safe loader without aliases and without repeated keys.

    A node reached a second time while constructing is an alias (the constructor caches nodes
    by identity, and only aliases share them), so refusing it refuses `*name` and `<<: *name`
    before anything is expanded."""

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _StrictYaml("yaml-alias", "aliases (*name) are not allowed: write the value out", node.start_mark)
        return super().construct_object(node, deep)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict = {}
            for key_node, _ in node.value:
                self.construct_key(key_node)
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        first = seen[key]
                        raise _StrictYaml("duplicate-key", f"key {key_node.value!r} repeats the one at line {first.line + 1} column {first.column + 1}",
                                          key_node.start_mark)
                    seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)

    def construct_yaml_timestamp(self, node):
        """A date or time as the text it is written as: records hold JSON values, and the schema
        checks the text (a YAML date like 2015-13-45 would otherwise fail inside the parser)."""
        return self.construct_scalar(node)

    def refuse_non_json(self, node):
        what = node.tag.rsplit(":", 1)[-1]
        raise _StrictYaml("wrong-type", f"a !!{what} value has no JSON type: write text, a number, a list or a mapping", node.start_mark)

    def construct_key(self, node):
        """Mapping keys are text, as in JSON (a YAML 1.1 `on:` or `5:` key would be a boolean or a number)."""
        if not (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str"):
            raise _StrictYaml("wrong-type", "a mapping key must be text (quote it)", node.start_mark)


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
for _tag in ("binary", "set", "omap", "pairs"):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", StrictLoader.refuse_non_json)


def _yaml_error(path, e) -> ReadError:
    if isinstance(e, _StrictYaml):
        mark = e.mark
        return _problem(path, e.slug, f"{e.message} (line {mark.line + 1} column {mark.column + 1})")
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    first = (getattr(e, "problem", None) or str(e).splitlines()[0]) if str(e) else type(e).__name__
    return _problem(path, "invalid-yaml", f"{first}{where}")


def parse_yaml(path, text: str) -> Any:
    """One YAML document, strictly (see StrictLoader); errors are ReadErrors naming `path`.

    The garbage collector is paused for large inputs, as for JSON: clusters.yaml of 20,000
    documents (3 MB) loads in 1.3 s instead of 3.2 s. A large result is also packed into fresh
    memory: its values lie scattered among the freed nodes of the parse, which keeps the
    allocator from giving those pages back (clusters.yaml of 100,000 documents, 15 MB: 792 MB
    held after the parse, 202 MB after packing, for about 1 s)."""
    large = len(text) >= LARGE_JSON
    paused = large and gc.isenabled()
    if paused:
        gc.disable()
    try:
        value = yaml.load(text, Loader=StrictLoader)
    except (yaml.YAMLError, _StrictYaml) as e:
        raise _yaml_error(path, e) from None
    finally:
        if paused:
            gc.enable()
    if large:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        del value  # every parsed value freed before the copy is made, so that the pages go back
        value = pickle.loads(blob)
    return value


def parse_yaml_all(path, text: str) -> list[Any]:
    """Every YAML document of a stream, strictly; errors are ReadErrors naming `path`."""
    try:
        return list(yaml.load_all(text, Loader=StrictLoader))
    except (yaml.YAMLError, _StrictYaml) as e:
        raise _yaml_error(path, e) from None


def read_yaml(path: str | Path) -> Any:
    return parse_yaml(path, _decode(path, read_bytes(path)))


def read_record(path: str | Path) -> Any:
    """A JSON or YAML record, chosen by extension; a symbolic link is refused (records are regular files)."""
    if not _NOFOLLOW:
        refuse_link(path)
    data = read_bytes(path, follow=False)
    if str(path).endswith((".yaml", ".yml")):
        return parse_yaml(path, _decode(path, data))
    return parse_json(path, data)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, record) from a JSON Lines file, streaming: the project's one JSON Lines
    reader. A line that is not UTF-8 or not JSON is one [not-utf8] or [invalid-json] problem at
    `path:line`."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise _problem(path, "unreadable-file", f"cannot read: {e.strerror or e}") from None
    with f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield n, orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError as u:
                        raise _problem(f"{path}:{n}", "not-utf8", f"invalid UTF-8 at byte {u.start} of the line") from None
                    raise _problem(f"{path}:{n}", "invalid-json", f"{e.msg} at column {e.colno}") from None


def dumps_json(obj: Any) -> bytes:
    """Pretty JSON with sorted keys and a final newline: stable bytes, small per-document diffs."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_bytes_atomic(path: str | Path, data: bytes) -> bool:
    """Write via a temporary file and rename; returns False (and leaves the file alone) if unchanged.

    The temporary file is made with the mode ordinary files get (0666 less the umask), and the
    folder only when it is missing: a pull writes thousands of records, and mkstemp, chmod and
    mkdir on each were half of its writing time."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = _create(tmp)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _create(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def inside(base: str | Path, *parts: str) -> Path:
    """base/parts..., refused with an [unsafe-path] line when a part is absolute, empty, '.' or
    '..', or when any existing component below `base` is a symbolic link (which could lead out).

    Below a component that is not there nothing is there either, so the checks stop at the first
    missing one (a pull or convert into a new folder: one lstat per record, not two); names are
    checked as text and a Path is made once (this ran 10,000 times per convert)."""
    base = Path(base)
    names: list[str] = []
    here = os.fspath(base)
    missing = False
    for part in parts:
        text = str(part)
        pieces = text.split("/")
        if not text or text.startswith("/") or "\0" in text or any(p in ("", ".", "..") for p in pieces):
            raise UnsafePath(base / text if text and not Path(text).is_absolute() else base, f"{text!r} is not a plain relative name: refused")
        for piece in pieces:
            names.append(piece)
            if missing:
                continue
            here = os.path.join(here, piece)
            try:
                link = stat.S_ISLNK(os.lstat(here).st_mode)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
                    raise
                missing = True  # (what Path.is_symlink says of such a path: not a link)
                continue
            if link:
                target = base.joinpath(*names)
                raise UnsafePath(target, f"is a symbolic link (to {os.readlink(target)}): refused, nothing is written through links")
    return base.joinpath(*names)


def id_pattern(kind: str) -> re.Pattern:
    """The schema's pattern for an id kind (DocumentId, AnnotatorId, Id): the one source of what a safe name is."""
    return _id_pattern(kind, current_path())


@lru_cache(maxsize=None)
def _id_pattern(kind: str, schema: Path) -> re.Pattern:
    return re.compile(load_schema(schema)["$defs"][kind]["pattern"])


def is_id(value, kind: str = "DocumentId") -> bool:
    return isinstance(value, str) and "\n" not in value and bool(id_pattern(kind).fullmatch(value))


def _link_refused(path) -> UnsafePath:
    return UnsafePath(path, f"is a symbolic link (to {os.readlink(path)}): refused, records are regular files")


def refuse_link(path: str | Path, root: str | Path | None = None) -> Path:
    """A path to read, refused when it is a symbolic link (or, with `root`, resolves outside it)."""
    path = Path(path)
    if path.is_symlink():
        raise _link_refused(path)
    if root is not None and not path.resolve().is_relative_to(Path(root).resolve()):
        raise UnsafePath(path, f"leads outside {root}: refused")
    return path


def _create(tmp: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(tmp, flags, 0o666)
    except FileExistsError:  # left by a process of the same id that was killed mid-write
        tmp.unlink(missing_ok=True)
        return os.open(tmp, flags, 0o666)


def write_json(path: str | Path, obj: Any) -> bool:
    return write_bytes_atomic(path, dumps_json(obj))


SKIPPED_FOLDERS = ("raw", "quarantine")  # raw exports and quarantined layers (see quarantine.py)


def iter_files(paths: Iterable[str | Path], suffixes=(".json", ".yaml", ".yml", ".jsonl")) -> Iterator[Path]:
    """Expand files and folders into a sorted stream of record files (skipping raw exports and quarantine)."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                # raw exports and quarantined layers (see quarantine.py) are never records to read
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS and not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(suffixes) and not name.startswith("."):
                        yield Path(root) / name
        else:
            yield p
