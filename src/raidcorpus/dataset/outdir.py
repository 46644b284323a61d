"""Output folders that a command owns: refused when they hold anything else, replaced atomically.

`build` and `rehydrate` write whole folders. Such a folder is only ever written when it is
absent, empty, or carries the MARKER file that these commands leave in every folder they make
(a folder built before the marker existed is accepted when its MANIFEST.sha256 accounts for
every file in it). The repository root, its source folders and any folder that contains the
repository are refused outright.

The new content is written into a hidden `.NAME.partial` sibling, then exchanged with the old
folder in one renameat2(RENAME_EXCHANGE) call, so a process killed at any moment leaves either
the old or the new folder whole under NAME. A lock file `.NAME.lock` beside it keeps two
writers of one folder apart, and the partial folder is removed on any failure.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from . import manifest
from ..errors import UserError
from .layout import MARKER

MARKER_TEXT = "This folder is written by raidcorpus (build or rehydrate) and replaced as a whole on the next run.\n"
# Folders of the repository no command may use as (or put) an output folder.
PROTECTED = ("corpus", "annotations", "schema", "releases", "src", "tests", "docs", "scripts", "labelstudio", ".git")


def _looks_built(folder: Path) -> bool:
    """A folder written by an older build (before the marker): its manifest lists every file."""
    if not (folder / manifest.MANIFEST).is_file() or not (folder / "release.json").is_file():
        return False
    try:
        return not manifest.verify_folder(folder)
    except UserError:
        return False


def check(path: Path, root: Path | None = None, option: str = "--out", owned: bool = True, own=None) -> Path:
    """Refuse an output folder that is not ours to replace; returns the path unchanged.

    owned=False checks only that the folder is not the repository, a folder holding it, or one of
    its source folders (for commands that add files to a folder rather than replace it);
    `own(folder)` may accept an existing folder this command recognises as its own output."""
    path = Path(path)
    if path.is_symlink():
        raise UserError(f"{option} {path}: is a symbolic link: refused (give the real folder)")
    where = path.resolve()
    tops = [Path.cwd().resolve()] + ([Path(root).resolve()] if root is not None else [])
    for top in tops:
        if top.is_relative_to(where):
            raise UserError(f"{option} {path}: contains the repository or the working folder ({top}): refused, nothing written")
        for name in PROTECTED:
            guarded = top / name
            if guarded.exists() and (where == guarded or where.is_relative_to(guarded)):
                raise UserError(f"{option} {path}: is (inside) {guarded}, which holds source data: refused, nothing written")
    if where == Path(where.anchor) or where == Path.home().resolve():
        raise UserError(f"{option} {path}: refused, nothing written")
    if path.exists() and owned:
        if own is not None and path.is_dir() and own(path):
            return path
        if not path.is_dir():
            raise UserError(f"{option} {path}: exists and is not a folder: refused, nothing written")
        if any(path.iterdir()) and not (path / MARKER).is_file() and not _looks_built(path):
            raise UserError(f"{option} {path}: holds files this command did not write (no {MARKER} marker): "
                            "refused, nothing written (choose another folder or empty it yourself)")
    return path


def partial_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _old_of(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


@contextmanager
def locked(*paths: Path) -> Iterator[None]:
    """Hold `.NAME.lock` beside each folder (sorted, so two writers cannot deadlock); refuse if taken."""
    with ExitStack() as stack:
        for path in sorted({Path(p).resolve() for p in paths}):
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = path.with_name(f".{path.name}.lock")
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"{path}: another run is writing this folder (lock {lock} is held): wait for it to finish") from None
        yield


def recover(path: Path) -> None:
    """Undo a swap that stopped half-way (only possible where renameat2 is missing): restore the old folder."""
    old = _old_of(path)
    if old.is_dir() and not old.is_symlink():
        if not path.exists():
            os.rename(old, path)
        else:
            shutil.rmtree(old)


def start(path: Path) -> Path:
    """A fresh, marked `.NAME.partial` folder (a stale one from a killed run is removed first)."""
    recover(path)
    tmp = partial_of(path)
    # The name is this command's own and the lock is held: what is there was left by a killed run
    # (a half-written new folder, or an old one half-removed after the swap).
    if tmp.is_symlink() or tmp.exists() and not tmp.is_dir():
        tmp.unlink()
    elif tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return tmp


def discard(*tmps: Path) -> None:
    for tmp in tmps:
        shutil.rmtree(tmp, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the kernel or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(tmp: Path, path: Path) -> None:
    """Put the finished `tmp` at `path`; the old folder is removed only once the new one is in place."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tmp, path)
        return
    if _exchange(tmp, path):
        shutil.rmtree(tmp)  # now the old folder
        return
    old = _old_of(path)
    os.rename(path, old)  # a kill here leaves the old folder whole at .NAME.old: recover() puts it back
    os.rename(tmp, path)
    shutil.rmtree(old)


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and (e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
                                      or "No space left" in str(e) or "File too large" in str(e))


def failure_line(e: OSError, where: Path, out: Path) -> str:
    target = e.filename or where
    return f"{target}: no space left on the device while writing {out}: partial output removed, {out} unchanged"
