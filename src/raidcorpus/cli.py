"""The command line: a thin layer over one module per pipeline verb.

Each command parses its options, calls a plain function of its module and prints the
result. A UserError becomes one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from . import ontology
from .errors import UserError

app = typer.Typer(
    name="raidcorpus",
    help="Build, annotate, validate and release the raid and attack events corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Console:
    """A rich Console made when first used: importing rich cost every command 18 ms of its start
    (validate runs in a few seconds, and prints without it)."""

    def __init__(self, **options):
        self._options = options
        self._console = None

    @property
    def console(self):
        """The rich Console itself, for what needs the object (a Progress enters it as a context)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name):
        return getattr(self.console, name)


err = _Console(stderr=True, highlight=False, soft_wrap=True)
out = _Console(highlight=False, soft_wrap=True)


def friendly(fn):
    """Turn UserError (and Ctrl-C) into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            err.print(f"error: {e.message}", markup=False)
            raise typer.Exit(e.exit_code) from None
        except OSError as e:  # a folder that cannot be created, a full disk: one line, not a traceback
            where = f"{e.filename}: " if e.filename else ""
            err.print(f"error: {where}{e.strerror or e}", markup=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
@friendly
def main_options(
    schema: Optional[Path] = typer.Option(
        None, "--schema", envvar="RAIDCORPUS_SCHEMA",
        help="The JSON Schema (ontology and record formats) every command reads; default: the one shipped with raidcorpus.",
    ),
):
    ontology.use(schema)


# The optional dataset stack (`pip install 'raidcorpus[dataset]'`). The commands that need it import
# their module here, the one place it is loaded: without it they stop with one line, and every other
# command works (the modules of the core never import it).
DATASET_STACK = ("datasets", "pyarrow", "spacy", "mlcroissant", "huggingface_hub", "scipy")
DATASET_HINT = "pip install 'raidcorpus[dataset]'"


def dataset_module(command: str, module: str):
    """The module (raidcorpus.`module`) of a command that needs the dataset extra, or UserError
    saying how to install it."""
    missing = [m for m in DATASET_STACK if importlib.util.find_spec(m) is None]
    if not missing:
        try:
            return importlib.import_module(f"raidcorpus.{module}")
        except ImportError as e:  # installed but broken, or a version without what we import
            missing = [e.name or str(e)]
    raise UserError(f"raidcorpus {command} needs the dataset extra ({', '.join(missing)} not importable): {DATASET_HINT}")


def print_report(lines, failed: bool) -> None:
    """A command's report, a line each; exit 1 after it when the command failed."""
    lines = list(lines)
    if lines:  # one render: a pull of 10,000 records prints 10,000 lines (0.47 s CPU one call each, 0.08 s as one)
        out.print("\n".join(lines), markup=False)
    if failed:
        raise typer.Exit(1)


# --- ingest, validate -------------------------------------------------------------------


@app.command()
@friendly
def ingest(
    sources: List[Path] = typer.Argument(..., help="Article .txt files, folders of them, or .jsonl files."),
    out_dir: Path = typer.Option(Path("corpus"), "--out", help="Corpus folder to write into."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", help="YAML with per-file metadata (title, outlet, date, url)."),
):
    """Add articles to the corpus: one JSON record per article, idempotent."""
    from . import ingest as mod

    report = mod.ingest(sources, out_dir, metadata)
    print_report(report.lines(), failed=bool(report.conflicts))


@app.command()
@friendly
def keys(
    sources: Path = typer.Option(Path("sources/muc34"), "--sources", help="The MUC-3/4 distribution (TASK/CORPORA/*/key-*)."),
):
    """Write the MUC-3/4 answer keys as muc4-key records (annotations/<doc>/muc4-key.json), fillers located in the corpus texts."""
    from . import muckeys, ontology

    if not muckeys.key_files(sources):
        raise UserError(f"{sources}: no key files (TASK/CORPORA/*/key-*) here (see --sources)")
    report = muckeys.write_records(Path("."), sources, ontology.load().version)
    print_report(report.lines(), failed=False)


@app.command()
@friendly
def validate(
    # str, not Path: typer builds a pydantic adapter for each Path it is given (40 us each, a
    # sixth of the time of a run over 10,000 files)
    paths: List[str] = typer.Argument(None, help="Files or folders (default: corpus, annotations)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder for hashes and offsets."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    level: int = typer.Option(3, "--level", min=1, max=3, help="Stop after this level (1 schema, 2 structure, 3 content)."),
    jobs: int = typer.Option(0, "--jobs", min=0, help="Worker processes (0: one per CPU); the output does not depend on it."),
):
    """Check records in levels: L1 JSON Schema, L2 ids and references, L3 offsets and hashes."""
    from . import validate as mod

    if fmt not in ("text", "json"):
        raise UserError(f"unknown --format {fmt!r}: use text or json", 2)
    targets = [Path(p) for p in paths or ()] or [p for p in (Path("corpus"), Path("annotations"), Path("splits.yaml")) if p.exists()]
    if not targets:
        raise UserError("nothing to validate: no corpus/ or annotations/ here (run it at the repository's top, or name paths)")
    if level >= 2 and not corpus_dir.is_dir():
        raise UserError(f"no corpus folder at {corpus_dir}: references and offsets are checked against it (see --corpus)")
    summary = mod.run(targets, corpus_dir, fmt=fmt, level=level, stream=sys.stdout, jobs=jobs or None)
    if summary.files == 0:
        raise UserError(f"no record files (.json, .yaml, .jsonl) under {', '.join(map(str, targets))}")
    if summary.errors:
        raise typer.Exit(1)


# --- Label Studio: ls-config, push, pull, convert ---

# Options push and pull share (the names Label Studio's own tools use).
ServerUrl = Annotated[Optional[str], typer.Option("--url", help="Label Studio URL (default: $LABEL_STUDIO_URL).")]
ProjectTitle = Annotated[Optional[str], typer.Option("--project", help="Project title (default: the schema's title).")]


def _server(url: Optional[str]):
    from . import labelstudio

    return labelstudio.Server(labelstudio.resolve_url(url), labelstudio.resolve_token())


def _project_title(project: Optional[str]) -> str:
    return project or ontology.load().title


@app.command("ls-config")
@friendly
def ls_config(
    check: bool = typer.Option(False, "--check", help="Fail if the committed config is stale; write nothing."),
    path: Path = typer.Option(Path("labelstudio/config.xml"), "--out", help="Where to write."),
):
    """Generate the Label Studio labelling config from the schema."""
    from . import ls_config as mod

    changed = mod.write(path, check=check)
    out.print(f"{path}: {'up to date' if check or not changed else 'written'}", markup=False)


@app.command()
@friendly
def push(
    url: ServerUrl = None,
    project: ProjectTitle = None,
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder (for --predictions)."),
    predictions: Optional[str] = typer.Option(None, "--predictions", help="Attach this annotation layer (e.g. gold) as predictions; "
                                              "muc4-key: the MUC-4 key's located fillers, shown to the annotators."),
    overlap: int = typer.Option(2, "--overlap", help="Independent annotations per task: each goes to this many different annotators."),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="Only the MUC messages of this set (DEV, TST1...TST4); repeatable."),
    ids_file: Optional[Path] = typer.Option(None, "--ids", help="Only the documents listed in this file, one id a line "
                                            "(e.g. annotations/muc-sample.txt)."),
    recommender: Optional[str] = typer.Option(None, "--recommender", help="Connect the ML backend at this URL (raidcorpus "
                                              "recommend) to the project after the push."),
):
    """Create or update the project (config, overlap, instructions) and import the articles it does not have yet."""
    from rich.progress import Progress

    from . import push as mod

    server = _server(url)
    with Progress(console=err.console, transient=True) as bar:
        job = bar.add_task("importing tasks", total=None)
        report = mod.push(server, _project_title(project), corpus_dir, annotations_dir, predictions,
                          progress=lambda done, total: bar.update(job, completed=done, total=total), overlap=overlap,
                          sets=sets, ids_file=ids_file, recommender=recommender)
    print_report(report.lines(), failed=bool(report.changed))


annotators_app = typer.Typer(help="Annotator accounts on the Label Studio server.", no_args_is_help=True)
app.add_typer(annotators_app, name="annotators")


@annotators_app.command("add")
@friendly
def annotators_add(
    email: str = typer.Argument(..., help="The annotator's e-mail address (their login; never stored by the project)."),
    url: ServerUrl = None,
    credentials: Optional[Path] = typer.Option(None, "--credentials", help="Write login and password to this new file "
                                               "(mode 600, outside any repository) instead of printing the password once."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder (its annotators.yaml "
                                         "gets the account's pseudonym)."),
):
    """Create an annotator account (with the organization's invitation, so closed sign-up is fine) and its pseudonym."""
    from . import annotators as mod

    for line in mod.add(_server(url), email, credentials, annotations_dir):
        print(line)


def _print_pull(report) -> None:
    print_report(report.lines(), failed=bool(report.invalid))


@app.command()
@friendly
def pull(
    url: ServerUrl = None,
    project: ProjectTitle = None,
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (to validate against)."),
):
    """Export the project, keep the raw export, write one record per (document, annotator)."""
    from . import pull as mod

    _print_pull(mod.pull(_server(url), _project_title(project), annotations_dir, corpus_dir))


@app.command()
@friendly
def convert(
    export: Path = typer.Argument(..., help="A full JSON export from Label Studio (.json or .json.gz)."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (to validate against)."),
    server: Optional[str] = typer.Option(None, "--server", help="Key of the server the export came from, as in annotators.yaml "
                                         "(default: the only one there)."),
):
    """Convert a saved Label Studio export into annotation records, without a server."""
    from . import pull as mod

    _print_pull(mod.convert_file(export, annotations_dir, corpus_dir, server))


@app.command()
@friendly
def feedback(
    url: ServerUrl = None,
    project: ProjectTitle = None,
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (to validate against)."),
    port: int = typer.Option(8081, "--port", help="Port of the webhook receiver on 127.0.0.1."),
):
    """Show annotators their validation problems in Label Studio: a webhook receiver (`make label` runs it)."""
    import logging
    import signal
    import threading

    from . import feedback as mod

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines only at debug level, never headers
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        mod.serve(_server(url), _project_title(project), corpus_dir, port, stop,
                  announce=lambda line: err.print(line, markup=False))
    except KeyboardInterrupt:
        pass



# --- agreement and adjudication: agree, adjudicate ---


def _names(value: Optional[str]) -> Optional[List[str]]:
    return [n.strip() for n in value.split(",") if n.strip()] if value else None


@app.command()
@friendly
def agree(
    paths: List[Path] = typer.Argument(None, help="Annotation folders or layer files (default: annotations)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (texts and hashes)."),
    fmt: str = typer.Option("table", "--format", help="table, json or markdown."),
    annotators: Optional[str] = typer.Option(None, "--annotators", help="Compare only these layers, e.g. annotator-1,annotator-2."),
):
    """Inter-annotator agreement per document and overall: span, trigger and argument F1, attribute kappa or alpha, coreference MUC and B-cubed, unitizing alpha."""
    from . import agree as mod

    if fmt not in mod.RENDERERS:
        raise UserError(f"unknown --format {fmt!r}: use table, json or markdown", 2)
    names = _names(annotators)
    if names is not None and len(names) < 2:
        raise UserError("--annotators needs two or more names separated by commas", 2)
    # plain text, one document at a time: no console wrapping of long reports, memory flat in their length
    mod.write_report(sys.stdout, paths or [Path("annotations")], corpus_dir, names, fmt)


@app.command()
@friendly
def adjudicate(
    paths: List[Path] = typer.Argument(None, help="Annotation folders or document folders (default: annotations)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (texts and hashes)."),
    decisions: List[Path] = typer.Option([], "--decisions", help="Decisions YAML to use instead of annotations/<doc>/decisions.yaml (repeatable)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the undecided items as a decisions template (YAML) to fill in."),
    check: bool = typer.Option(False, "--check", help="Write nothing; fail if a gold layer is stale, missing or undecided."),
    min_layers: int = typer.Option(2, "--min-layers", min=1, help="Adjudicate only documents with at least this many layers."),
):
    """Build annotations/<doc>/gold.json from the annotator layers and the written decisions."""
    from . import adjudicate as mod
    from .fileio import write_bytes_atomic

    result = mod.adjudicate(paths or [Path("annotations")], corpus_dir, decisions, min_layers, check)
    for line in result.lines:
        out.print(line, markup=False)
    for line in [p.line() for p in result.problems] + result.stale + [p.line() for p in mod.undecided_problems(result)]:
        err.print(line, markup=False)
    if report is not None and result.undecided:
        write_bytes_atomic(report, mod.report_template(result).encode("utf-8"))
        err.print(f"wrote {report}: fill in a decision for each of the {len(result.undecided)} items", markup=False)
    if not result.ok:
        hint = "" if report or not result.undecided else "; run with --report FILE for a template to fill in"
        err.print(f"error: {len(result.undecided)} undecided items, {len(result.problems)} problems, "
                  f"{len(result.stale)} stale gold layers{hint}", markup=False)
        raise typer.Exit(1)


@app.command()
@friendly
def status(
    root: Path = typer.Option(Path("."), "--root", help="Repository holding corpus/ and annotations/."),
    fmt: str = typer.Option("text", "--format", help="text, or json (one object per document, then the totals)."),
    jobs: int = typer.Option(0, "--jobs", min=0, help="Worker processes (0: one per CPU); the output does not depend on it."),
):
    """Where the corpus stands: per document its tasks, layers, quarantine, agreement, undecided items and gold; totals."""
    from . import status as mod

    if fmt not in ("text", "json"):
        raise UserError(f"unknown --format {fmt!r}: use text or json", 2)
    mod.run(root, fmt, write=lambda text: sys.stdout.write(text + "\n"), jobs=jobs or None)


@app.command()
@friendly
def curate(
    push_: bool = typer.Option(False, "--push", help="Put every document with undecided items into the curation project."),
    pull_: bool = typer.Option(False, "--pull", help="Write the curators' decisions into annotations/<doc>/decisions.yaml."),
    url: ServerUrl = None,
    project: Optional[str] = typer.Option(None, "--project", help="Curation project title (default: the schema's title + ' (curation)')."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder."),
):
    """Adjudicate in Label Studio: push the disagreements to a curation project, pull the decisions back."""
    from . import curate as mod

    if push_ == pull_:
        raise UserError("say --push or --pull", 2)
    title = project or mod.default_title()
    server = _server(url)
    server.check()
    report = (mod.push_curation if push_ else mod.pull_curation)(server, title, annotations_dir, corpus_dir)
    for line in report.conflicts:
        err.print(line, markup=False)
    print_report(report.lines, failed=bool(report.conflicts))


# --- dataset: build, summary, publish, rehydrate ---


@app.command()
@friendly
def build(
    version: str = typer.Option(..., "--version", help="The dataset version X.Y.Z; CHANGELOG.md must describe it."),
    out_dir: Path = typer.Option(Path("dist/raid-attack-events"), "--out", help="Folder for the full dataset."),
    root: Path = typer.Option(Path("."), "--root", help="Repository holding corpus/, annotations/, splits.yaml."),
    standoff: Optional[Path] = typer.Option(None, "--standoff-out", help="Folder for the standoff variant (default: OUT-standoff)."),
    make_release: bool = typer.Option(False, "--release", help="Record the manifests in releases/ (commit them)."),
    jobs: int = typer.Option(0, "--jobs", min=0, help="Worker processes (0: one per CPU); the output does not depend on it."),
    repo: Optional[str] = typer.Option(None, "--repo", help="Hub repository OWNER/NAME the card and croissant.json name (default: raidcorpus/raid-attack-events)."),
):
    """Build the versioned Hugging Face dataset (Parquet, card, croissant.json) and its standoff twin."""
    mod = dataset_module("build", "dataset.build")

    result = mod.build(version, out_dir, root, standoff, make_release, jobs=jobs or None, repo=repo)
    for config, splits in result.stats["rows"].items():
        out.print(f"{config}: " + ", ".join(f"{s} {n}" for s, n in splits.items()), markup=False)
    out.print(f"wrote {result.out} and {result.standoff_out} (version {version})", markup=False)
    for path in result.released:
        out.print(f"released {path}", markup=False)


@app.command()
@friendly
def summary(folder: Path = typer.Argument(..., help="A built dataset folder.")):
    """Load every config back with datasets (offline) and count rows and mentions per type."""
    mod = dataset_module("summary", "dataset.summary")

    for line in mod.lines(mod.summarize(folder)):
        out.print(line, markup=False)


@app.command()
@friendly
def export(
    fmt: str = typer.Option(..., "--format", help="textee, brat, spacy or conll."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write the files into (one file or folder per split)."),
    folder: Path = typer.Option(Path("dist/raid-attack-events"), "--dataset", help="A built (full) dataset folder."),
):
    """Write the gold annotations in a format event-extraction or NER tools read, read them back and count what the format cannot carry."""
    mod = dataset_module("export", "dataset.export")

    result = mod.export(folder, fmt, out_dir)
    written = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    out.print(f"wrote {len(result.files)} file(s) to {out_dir}: {written}", markup=False)
    lost = ", ".join(f"{k} {v}" for k, v in sorted(result.lost.items())) or "nothing"
    out.print(f"not carried by {fmt}: {lost}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)


@app.command()
@friendly
def score(
    gold: Path = typer.Option(..., "--gold", help="Gold: annotation records (a file or folder), TextEE JSON lines (.jsonl or .json), REE rows or GRIT JSON lines (--metric ree), template rows (--metric templates)."),
    pred: Path = typer.Option(..., "--pred", help="Predictions, in a form of the same metric (for ree also GRIT's and GTT's prediction object)."),
    metric: str = typer.Option("mentions", "--metric", help="mentions (triggers, arguments, entities), ree (MUC-4 CEAF-REE) or templates (MUC-4 templates)."),
    gold_layer: Optional[str] = typer.Option(None, "--gold-layer", help="In a folder of records, the layer to use as gold, e.g. gold or annotator-1."),
    pred_layer: Optional[str] = typer.Option(None, "--pred-layer", help="In a folder of records, the layer to score, e.g. annotator-2."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (texts, when records are compared with TextEE lines)."),
    label_map: Optional[Path] = typer.Option(None, "--map", help="A JSON or YAML object mapping foreign labels (event types, roles, entity types) to ours (mentions)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Resample documents N times for 95% confidence intervals of the F1 figures (mentions, ree)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --bootstrap resampling."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
):
    """Score predictions against gold: event mentions (Tri-I/C, Arg-I/C, entities, attributes), MUC-4 REE (CEAF-REE) or MUC-4 templates; definitions in docs/scoring.md."""
    mod = dataset_module("score", "score.run")

    if fmt not in mod.FORMATS:
        raise UserError(f"unknown --format {fmt!r}: use table or json", 2)
    if metric not in mod.METRICS:
        raise UserError(f"unknown --metric {metric!r}: use {', '.join(mod.METRICS)}", 2)
    if bootstrap < 0:
        raise UserError("--bootstrap must be 0 (none) or a number of resamples", 2)
    options = mod.Options(gold_layer, pred_layer, corpus_dir, label_map, bootstrap, seed)
    sys.stdout.write(mod.run(metric, gold, pred, options, fmt))


@app.command()
@friendly
def publish(
    repo: str = typer.Option(..., "--repo", help="Hub dataset repository OWNER/NAME."),
    folder: Path = typer.Option(Path("dist/raid-attack-events"), "--dir", help="The built folder to push."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List files, sizes, sha256 and the tag; upload nothing."),
):
    """Push a built folder to the Hugging Face Hub and tag it vX.Y.Z (token from HF_TOKEN)."""
    mod = dataset_module("publish", "dataset.publish")

    plan = mod.publish(folder, repo, dry_run)
    for line in plan.lines():
        out.print(line, markup=False)
    out.print("dry run: nothing uploaded" if dry_run else f"published {repo} at {plan.tag}", markup=False)


@app.command()
@friendly
def rehydrate(
    standoff: Path = typer.Argument(..., help="A standoff dataset folder."),
    texts: List[Path] = typer.Argument(..., help="Corpus records (.json) or .txt files, or folders of them."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for the rebuilt full dataset."),
):
    """Re-attach article texts to a standoff dataset, checking every hash and offset."""
    mod = dataset_module("rehydrate", "dataset.rehydrate")

    outcome = mod.rehydrate(standoff, texts, out_dir)
    for p in outcome.problems:
        err.print(p, markup=False)
    if outcome.problems:
        err.print(f"error: {len(outcome.problems)} problem(s): nothing written", markup=False)
        raise typer.Exit(1)
    out.print(f"wrote {outcome.out} ({outcome.documents} documents)", markup=False)


# --- benchmarks: synth ---


@app.command()
@friendly
def synth(
    docs: int = typer.Option(..., "--docs", help="How many documents to generate."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same bytes."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write corpus/, annotations/ and splits.yaml into."),
    annotators: int = typer.Option(2, "--annotators", help="Annotator layers per document (besides gold)."),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes (the output does not depend on it)."),
):
    """Write a synthetic corpus with annotator layers, gold, clusters and splits (for tests and benchmarks)."""
    from . import synth as mod

    summary = mod.synth(docs, seed, out_dir, annotators, jobs)
    out.print(summary.line(), markup=False)


# --- docs -------------------------------------------------------------------------------


@app.command()
@friendly
def docs(
    check: bool = typer.Option(False, "--check", help="Only compare; exit 1 naming the stale files."),
    root: Path = typer.Option(Path("."), "--root", help="Project folder holding GUIDELINES.md and docs/."),
):
    """Regenerate the ontology tables in GUIDELINES.md and the CLI reference docs/cli.md."""
    from . import docs as mod

    outcomes = mod.run(app, root, check=check)
    stale = [o.path for o in outcomes if o.stale]
    if check:
        if stale:
            err.print(f"stale: {', '.join(stale)} (run 'raidcorpus docs')", markup=False)
            raise typer.Exit(1)
        out.print("documentation is up to date", markup=False)
        return
    for o in outcomes:
        out.print(f"{'wrote' if o.stale else 'unchanged'} {o.path}", markup=False)


# --- guidelines ---------------------------------------------------------------------------


@app.command()
@friendly
def guidelines(
    paths: Optional[List[Path]] = typer.Argument(None, help="Files to check, relative to --root (default GUIDELINES.md)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a file quotes a test document."),
    root: Path = typer.Option(Path("."), "--root", help="Project folder holding splits.yaml, corpus/ and sources/."),
):
    """List the places where the guidelines quote eight or more consecutive words of a test-split document."""
    from . import guidelines as mod

    problems = mod.check(root, list(paths or [Path("GUIDELINES.md")]))
    for p in problems:
        out.print(p.line(), markup=False)
    if problems:
        out.print(f"{len(problems)} quote{'s' if len(problems) != 1 else ''} of test documents", markup=False)
        if check:
            raise typer.Exit(1)
        return
    out.print("no quote of a test document", markup=False)


# --- recommend ----------------------------------------------------------------------------


@app.command()
@friendly
def recommend(
    port: int = typer.Option(9090, "--port", help="Port of the ML backend."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder to learn from."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder (to check the layers against)."),
):
    """Serve predictions to Label Studio (its ML backend protocol): strings annotated elsewhere in the
    corpus and MUC-4 key fillers. It learns from every annotation Label Studio sends to /webhook."""
    import logging

    from . import recommend as mod

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    rec = mod.Recommender(annotations_dir, corpus_dir)
    layers = rec.reload()
    server = mod.make_server(rec, port, host)
    where = f"http://{host}:{server.server_address[1]}"
    err.print(f"recommender on {where}: {rec.matcher.size[1]} strings from {layers} layers; "
              f"connect it with `raidcorpus push --recommender {where}`", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- report -------------------------------------------------------------------------------


@app.command()
@friendly
def report(
    out_dir: Path = typer.Option(..., "--out", help="Folder to write the HTML into (index.html, docs/<doc>.html); nothing is written elsewhere."),
    annotations_dir: Path = typer.Option(Path("annotations"), "--annotations", help="Annotations folder."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder."),
):
    """Write a static HTML view of the corpus: documents with counts and agreement, agreement plots, one page per document with its gold."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UserError(f"raidcorpus report needs the dataset extra (matplotlib not importable): {DATASET_HINT}")
    from . import report as mod

    written = mod.write(out_dir, annotations_dir, corpus_dir)
    out.print(f"wrote {written.out / 'index.html'} and {written.documents} document pages ({written.with_gold} with gold)", markup=False)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
