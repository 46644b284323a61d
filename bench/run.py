"""Benchmarks: every row is a ratio of two timings taken in the same run, on the same data.

    make bench                  # 10,000 and 100,000 synthetic documents (under 30 minutes on 2 cores)
    python bench/run.py --quick # the same rows on a few hundred documents, as a smoke run

Prints a table and writes bench/results.md (machine, versions, date, table). Data is made by
`raidcorpus synth` under bench/work/ (ignored by git) and reused while the generator is unchanged.
Label Studio rows start a real server the way the tests do (scripts/label-studio.sh).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.modules.setdefault("run", sys.modules[__name__])  # bench/label_studio.py imports this module as `run`
ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results.md"
BIN = Path(sys.executable).parent
RAIDCORPUS = str(BIN / "raidcorpus")
SCHEMA = ROOT / "schema" / "raidcorpus.schema.json"
SEED = 2015
BUILD_TIMEOUT = 600  # seconds: five times the goal for 100,000 documents keeps `make bench` under 30 minutes
NOTES = "<!-- notes: kept by bench/run.py -->"

PARSE = """
import sys, json, orjson
loads = orjson.loads if sys.argv[1] == "orjson" else json.loads
for name in open(sys.argv[2], encoding="utf-8").read().split("\\n"):
    with open(name, "rb") as f:
        loads(f.read())
"""


@dataclass
class Timing:
    seconds: float
    rss_mb: float  # the largest single process's peak RSS
    returncode: int
    stdout: str
    stderr: str
    total_mb: float | None = None  # with tree=True: the peak of the summed PSS of every process of the run

    def check(self, what: str) -> "Timing":
        if self.returncode != 0:
            tail = (self.stdout[-1500:] + "\n" + self.stderr[-1500:]).strip()
            raise BenchError(f"{what} exited {self.returncode}: {tail}")
        return self


class BenchError(Exception):
    pass


@dataclass
class Row:
    name: str
    measured: str
    ratio: float | None = None
    goal: str = ""
    ok: bool | None = None

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}"
        verdict = {True: "met", False: "MISSED", None: ""}[self.ok]
        return [self.name, self.measured, ratio, self.goal, verdict]


def set_work(folder: Path) -> None:
    global WORK
    WORK = folder.resolve()


def _session_pids(sid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # fields after the command: state, ppid, pgrp, session
                pids.append(int(name))
    return pids


def tree_memory_mb(sid: int) -> tuple[float, float]:
    """(the summed proportional set size (PSS) of every process of a session, the largest peak RSS
    of one of them (VmHWM)): pages shared between a parent and its forked workers count once in
    the sum, unlike adding up their RSS. Read from /proc, after exec: the peak RSS that wait4
    reports also counts the bench's own pages, which a child holds between fork and exec."""
    kb, largest = 0, 0
    for pid in _session_pids(sid):
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        kb += int(line.split()[1])
                        break
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        largest = max(largest, int(line.split()[1]))
                        break
        except OSError:
            continue
    return kb / 1024, largest / 1024


def run(cmd: list, cwd: Path | None = None, env: dict | None = None, timeout: float | None = None, tree: bool = False) -> Timing:
    """Run a command; wall time and the child's own peak RSS (from wait4, so earlier children do not count).

    With `tree`, the memory of the whole run is also sampled (every 0.1 s): the peak of the summed
    PSS of the command and every process it starts (they share its session).
    Past `timeout` seconds the command (and its process group) is killed and BenchError raised.
    """
    sample = tree and os.path.exists("/proc/self/smaps_rollup")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        peak = hwm = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if (timeout or sample) else 0)
            if pid:
                break
            if timeout and time.perf_counter() - start > timeout:
                os.killpg(proc.pid, 9)
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"{Path(str(cmd[0])).name} {cmd[1]} took longer than {timeout:.0f} s: stopped")
            if sample:
                total, largest = tree_memory_mb(proc.pid)
                peak, hwm = max(peak, total), max(hwm, largest)
                time.sleep(0.1)
            else:
                time.sleep(0.05)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # sampled, the memory is the command's own; wait4's peak RSS is kept only unsampled (it can
        # be the bench's own size, see tree_memory_mb)
        return Timing(seconds, hwm if sample and hwm else usage.ru_maxrss / 1024, proc.returncode,
                      out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                      peak if sample and peak else None)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def has_command(verb: str) -> bool:
    return run([RAIDCORPUS, verb, "--help"]).returncode == 0


# --- data ---------------------------------------------------------------------------------------


def generator_stamp() -> str:
    h = hashlib.sha256()
    for p in (ROOT / "src" / "raidcorpus" / "synth.py", ROOT / "src" / "raidcorpus" / "ingest.py", SCHEMA):
        h.update(p.read_bytes())
    return h.hexdigest()


def dataset(n: int, rows: list[Row]) -> Path:
    """A synthetic corpus of n documents with two annotator layers, made once per generator version."""
    folder = WORK / f"synth-{n}"
    stamp = folder / ".stamp"
    if stamp.exists() and stamp.read_text() == generator_stamp():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    jobs = os.cpu_count() or 1
    t = run([RAIDCORPUS, "synth", "--docs", n, "--seed", SEED, "--out", folder, "--jobs", jobs]).check("synth")
    rows.append(Row(f"synth {n:,} docs", f"{t.seconds:.1f} s, {n / t.seconds:,.0f} docs/s ({jobs} jobs)"))
    stamp.write_text(generator_stamp())
    return folder


def file_list(folder: Path, pattern: str, n: int) -> list[str]:
    found = sorted(str(p.relative_to(folder)) for p in folder.glob(pattern))
    return found[:n]


# --- rows ---------------------------------------------------------------------------------------


REPEAT = 3  # runs of each short validate-row command; the best is kept


def bench_validate(data: Path, n: int, rows: list[Row]) -> None:
    files = file_list(data, "annotations/*/gold.json", n)
    listing = data / ".gold-files"
    listing.write_text("\n".join(files), encoding="utf-8")
    # every file read once first, so that no command pays for the disk and the others not
    # (after the 100,000-document build the first reader found these files out of the page cache)
    for path in (*files, *(data / "corpus").glob("*.json")):
        (data / path).read_bytes()
    # the three short commands are each timed REPEAT times and their best time kept, as timeit does:
    # a run of under 3 s moved by a quarter between runs on this machine, the parse baselines most
    def best(cmd: list, what: str) -> Timing:
        return min((run(cmd, cwd=data).check(what) for _ in range(REPEAT)), key=lambda t: t.seconds)

    ours = best([RAIDCORPUS, "validate", *files, "--corpus", "corpus"], "raidcorpus validate")
    cjs = run([BIN / "check-jsonschema", "--schemafile", SCHEMA, *files], cwd=data).check("check-jsonschema")
    fast = best([sys.executable, "-c", PARSE, "orjson", listing], "orjson parse")
    slow = best([sys.executable, "-c", PARSE, "json", listing], "json parse")
    k = len(files)
    rows.append(Row(f"validate {k:,} annotation files vs check-jsonschema",
                    f"ours {ours.seconds:.2f} s, check-jsonschema {cjs.seconds:.2f} s",
                    cjs.seconds / ours.seconds, "speed-up >= 20", cjs.seconds / ours.seconds >= 20))
    rows.append(Row(f"validate {k:,} files vs orjson parse only", f"parse {fast.seconds:.2f} s",
                    ours.seconds / fast.seconds, "<= 5x", ours.seconds / fast.seconds <= 5))
    rows.append(Row(f"validate {k:,} files vs json parse only", f"parse {slow.seconds:.2f} s",
                    ours.seconds / slow.seconds, "<= 5x", ours.seconds / slow.seconds <= 5))


def bench_build(small: Path, large: Path, n_small: int, n_large: int, rows: list[Row]) -> None:
    if not has_command("build"):
        rows.append(Row("build", "skipped: `raidcorpus build` is not there yet"))
        return
    times = {}
    for n, data in ((n_small, small), (n_large, large)):
        out = WORK / f"dist-{n}"
        shutil.rmtree(out, ignore_errors=True)
        limit = n >= 100_000
        try:
            t = run([RAIDCORPUS, "build", "--version", "0.0.0", "--out", out], cwd=data, timeout=BUILD_TIMEOUT, tree=True).check(f"build {n}")
        except BenchError as e:
            if "longer than" not in str(e):
                raise
            rows.append(Row(f"build {n:,} docs", f"stopped after {BUILD_TIMEOUT} s", None, "< 120 s, < 2 GB", False))
            ratio = BUILD_TIMEOUT / times[n_small].seconds
            rows.append(Row(f"build {n_large:,} / {n_small:,} time", "lower bound (stopped)", ratio,
                            f"<= {n_large / n_small * 1.1:.0f}", None if ratio <= n_large / n_small * 1.1 else False))
            return
        finally:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(f"{out}-standoff", ignore_errors=True)
        times[n] = t
        total = t.total_mb if t.total_mb is not None else t.rss_mb
        rows.append(Row(f"build {n:,} docs", f"{t.seconds:.1f} s, peak memory of all its processes {total:,.0f} MB "
                        f"(PSS summed; largest process {t.rss_mb:,.0f} MB RSS)",
                        None, "< 120 s, < 2 GB" if limit else "",
                        (t.seconds < 120 and total < 2048) if limit else None))
    ratio = times[n_large].seconds / times[n_small].seconds
    scale = n_large / n_small
    mem = {n: t.total_mb if t.total_mb is not None else t.rss_mb for n, t in times.items()}
    rows.append(Row(f"build {n_large:,} / {n_small:,} time", f"memory ratio {mem[n_large] / mem[n_small]:.2f}",
                    ratio, f"<= {scale * 1.1:.0f}", ratio <= scale * 1.1))


def bench_real(rows: list[Row]) -> None:
    """The repository's own corpus (the 1,700 MUC-3/4 messages and the seeds): ingest of the MUC files
    into an empty folder and again (a no-op), validate, status and build of the committed corpus, as they are."""
    import re

    muc = ROOT / "sources" / "muc34" / "TASK" / "CORPORA"
    corpus = WORK / "real-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    first = run([RAIDCORPUS, "ingest", muc, "--out", corpus]).check("ingest of the MUC files")
    again = run([RAIDCORPUS, "ingest", muc, "--out", corpus]).check("ingest again")
    shutil.rmtree(corpus, ignore_errors=True)
    n = len(list((ROOT / "corpus").glob("*.json")))
    rows.append(Row("ingest 1,700 MUC messages (empty corpus / again, a no-op)",
                    f"{first.seconds:.1f} s / {again.seconds:.1f} s, peak RSS {first.rss_mb:,.0f} MB"))
    t = run([RAIDCORPUS, "validate"], cwd=ROOT, tree=True).check("validate of the repository")
    rows.append(Row(f"validate the repository ({n:,} corpus records, annotations, splits)",
                    f"{t.seconds:.1f} s, peak memory {t.total_mb or t.rss_mb:,.0f} MB"))
    t = run([RAIDCORPUS, "status"], cwd=ROOT, tree=True).check("status of the repository")
    rows.append(Row(f"status of the repository ({n:,} documents)", f"{t.seconds:.1f} s, peak memory {t.total_mb or t.rss_mb:,.0f} MB"))
    version = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    out = WORK / "dist-real"
    try:
        t = run([RAIDCORPUS, "build", "--version", version, "--out", out], cwd=ROOT, timeout=BUILD_TIMEOUT, tree=True).check("build of the repository")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(f"{out}-standoff", ignore_errors=True)
    total = t.total_mb if t.total_mb is not None else t.rss_mb
    rows.append(Row(f"build the repository ({n:,} documents, version {version})",
                    f"{t.seconds:.1f} s, peak memory of all its processes {total:,.0f} MB", None, "< 2 GB", total < 2048))


def bench_agree(data: Path, n: int, rows: list[Row]) -> None:
    if not has_command("agree"):
        rows.append(Row("agree", "skipped: `raidcorpus agree` is not there yet"))
        return
    tenth = file_list(data, "annotations/synth-*", n // 10)
    part = run([RAIDCORPUS, "agree", *tenth, "--corpus", "corpus"], cwd=data, tree=True).check("agree (a tenth)")
    t = run([RAIDCORPUS, "agree", "annotations", "--corpus", "corpus"], cwd=data, tree=True).check("agree")
    rows.append(Row(f"agree {n:,} docs (2 annotators)", f"{t.seconds:.1f} s, {n / t.seconds:,.0f} docs/s, peak RSS {t.rss_mb:,.0f} MB"))
    ratio = t.rss_mb / part.rss_mb
    rows.append(Row(f"agree peak RSS, {n:,} / {len(tenth):,} docs", f"{t.rss_mb:,.0f} MB / {part.rss_mb:,.0f} MB",
                    ratio, "<= 1.5 (flat)", ratio <= 1.5))


def bench_status(data: Path, n: int, rows: list[Row]) -> None:
    if not has_command("status"):
        rows.append(Row("status", "skipped: `raidcorpus status` is not there yet"))
        return
    # status reads a whole repository, so its memory is compared with that of a tenth-size corpus
    # made by the same generator (summed PSS: it runs worker processes)
    tenth = dataset(n // 10, rows)
    part = run([RAIDCORPUS, "status"], cwd=tenth, tree=True).check("status (a tenth)")
    t = run([RAIDCORPUS, "status"], cwd=data, tree=True).check("status")
    whole, tenth_mb = (x.total_mb if x.total_mb is not None else x.rss_mb for x in (t, part))
    rows.append(Row(f"status {n:,} docs", f"{t.seconds:.1f} s, peak memory of all its processes {whole:,.0f} MB "
                    f"(PSS summed; largest process {t.rss_mb:,.0f} MB RSS)"))
    ratio = whole / tenth_mb
    rows.append(Row(f"status peak memory, {n:,} / {n // 10:,} docs", f"{whole:,.0f} MB / {tenth_mb:,.0f} MB",
                    ratio, "<= 1.5 (flat)", ratio <= 1.5))


def bench_adjudicate(data: Path, n: int, rows: list[Row]) -> None:
    """adjudicate writes gold.json: it runs on a copy of the layers and decisions (copying is not timed)."""
    if not has_command("adjudicate"):
        rows.append(Row("adjudicate", "skipped: `raidcorpus adjudicate` is not there yet"))
        return
    copy = WORK / f"adjudicate-{n}"
    shutil.rmtree(copy, ignore_errors=True)
    try:
        shutil.copytree(data / "corpus", copy / "corpus")
        shutil.copytree(data / "annotations", copy / "annotations", ignore=shutil.ignore_patterns("gold.json", "clusters.yaml"))
        t = run([RAIDCORPUS, "adjudicate", "annotations", "--corpus", "corpus"], cwd=copy, tree=True).check("adjudicate")
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    written = t.stdout.count(": wrote ")
    rows.append(Row(f"adjudicate {n:,} docs (2 annotators, written decisions)",
                    f"{t.seconds:.1f} s, {n / t.seconds:,.0f} docs/s, {written:,} gold layers, peak RSS {t.rss_mb:,.0f} MB"))


def bench_label_studio(data: Path, n: int, rows: list[Row]) -> None:
    for verb in ("push", "pull", "convert"):
        if not has_command(verb):
            rows.append(Row("Label Studio", f"skipped: `raidcorpus {verb}` is not there yet"))
            return
    from label_studio import LabelStudioBench  # bench/label_studio.py

    with LabelStudioBench(WORK / "label-studio") as ls:
        ls.push_rows(data, n, rows)
        ls.pull_rows(data, n, rows)
        ls.feedback_rows(data, rows)


# --- report -------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = "unknown"
    try:
        kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    versions = []
    for dist in ("raidcorpus", "jsonschema-rs", "check-jsonschema", "orjson", "datasets", "pyarrow", "httpx"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {mem} memory, {cpu}",
        f"- system: {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- versions: {', '.join(versions)}, Label Studio 1.23.2",
        f"- code: commit {commit or 'unknown'} (plus any uncommitted changes)",
    ]


def table(rows: list[Row]) -> list[str]:
    head = ["benchmark", "measured", "ratio", "goal", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return lines


def write_results(rows: list[Row], quick: bool, seconds: float) -> None:
    notes = ""
    if RESULTS.exists():
        old = RESULTS.read_text(encoding="utf-8")
        if NOTES in old:
            notes = old[old.index(NOTES):]
    kind = "quick smoke run (small N)" if quick else "full run"
    text = "\n".join([
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python bench/run.py`): {kind}, {seconds / 60:.1f} minutes in all.",
        "Each ratio compares two timings taken in the same run on the same synthetic data",
        "(`raidcorpus synth`, seed {}); wall times include process start.".format(SEED),
        "",
        *machine(),
        "",
        *table(rows),
        "",
        notes or NOTES + "\n",
    ])
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def print_table(rows: list[Row]) -> None:
    cells = [["benchmark", "measured", "ratio", "goal", ""]] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for i, c in enumerate(cells):
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run of every row")
    parser.add_argument("--only", action="append", choices=("validate", "build", "agree", "status", "adjudicate", "labelstudio", "real"),
                        help="run only these groups (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave bench/results.md alone")
    parser.add_argument("--work", type=Path, default=WORK, help="folder for generated data (default: bench/work)")
    args = parser.parse_args(argv)
    set_work(args.work)
    n_small, n_large = (300, 3_000) if args.quick else (10_000, 100_000)
    groups = args.only or ["validate", "build", "agree", "status", "adjudicate", "labelstudio", "real"]
    WORK.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).parent))
    rows: list[Row] = []
    start = time.perf_counter()
    small = dataset(n_small, rows)
    steps = {
        "validate": lambda: bench_validate(small, n_small, rows),
        "build": lambda: bench_build(small, dataset(n_large, rows), n_small, n_large, rows),
        "agree": lambda: bench_agree(small, n_small, rows),
        "status": lambda: bench_status(small, n_small, rows),
        "adjudicate": lambda: bench_adjudicate(small, n_small, rows),
        "labelstudio": lambda: bench_label_studio(small, n_small, rows),
        "real": lambda: bench_real(rows),
    }
    failed = False
    for name in groups:
        try:
            steps[name]()
        except BenchError as e:
            failed = True
            rows.append(Row(name, f"FAILED: {str(e).splitlines()[0][:200]}"))
            print(f"{name}: {e}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print_table(rows)
    print(f"\n{seconds / 60:.1f} minutes")
    if not args.no_write:
        write_results(rows, args.quick, seconds)
        print(f"written {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
