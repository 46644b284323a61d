"""push, pull, curate, feedback and `annotators add` against the in-memory Label Studio (fast, no server).

The real-server tests (test_ls_roundtrip.py, test_ls_faults.py, test_curate.py, test_feedback.py,
test_browser*.py) stay: these cover the edge cases of the logic in milliseconds.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from fake_labelstudio import FakeLabelStudio
from raidcorpus import adjudicate, annotators, convert, curate, feedback, fileio, pull, push
from raidcorpus.errors import ProblemError
from raidcorpus.labelstudio import Server

ROOT = Path(__file__).resolve().parents[1]
TITLE = "fake project"
CONFIG = "<View><Text name='text' value='$text'/></View>"  # push reads the config only to compare it


MUC = ("dev-muc3-*", "tst?-muc?-*")  # the 1,700 MUC messages, left out where the seeds' layers are what is tested


@pytest.fixture
def work(tmp_path, monkeypatch):
    """The seed articles and their layers (no MUC message: they have no annotator layers)."""
    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw", "annotators.yaml", *MUC))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # push's lock
    return tmp_path


@pytest.fixture
def muc_work(tmp_path, monkeypatch):
    """The seeds and the 200 MUC-4 test messages (TST3, TST4) with their key records."""
    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw", "annotators.yaml", MUC[0], "tst[12]-*"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def docs(work) -> list[str]:
    return sorted(p.stem for p in (work / "corpus").glob("*.json"))


def run_push(fake, work, **kwargs):
    return push.push(fake, TITLE, work / "corpus", work / "annotations", **kwargs)


def annotate_all(fake, work, layer="annotator-1", user=None) -> int:
    """Every task annotated by `user` (a new account) with the committed `layer`'s results."""
    user = user or fake.add_user(f"{layer}@example.org")
    for task in fake.tasks(fake.project(TITLE).id):
        record = fileio.read_json(work / "annotations" / task["data"]["doc_id"] / f"{layer}.json")
        fake.annotate(task["id"], user, convert.record_to_results(record))
    return user


def layers(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "pulled" in str(p.relative_to(root))}


def test_push_creates_the_project_and_a_second_push_imports_nothing(work):
    fake = FakeLabelStudio()
    first = run_push(fake, work, overlap=3)
    assert first.created and first.imported == len(docs(work)) and fake.calls.count("import_tasks") == 1
    project = fake.projects[first.project_id]
    assert project["maximum_annotations"] == 3 and project["show_collab_predictions"] is False
    again = run_push(fake, work, overlap=3)
    assert (again.imported, again.skipped, again.created, again.settings_updated) == (0, len(docs(work)), False, [])
    assert fake.calls.count("import_tasks") == 1 and len(fake.tasks_by_id) == len(docs(work))
    fewer = run_push(fake, work, overlap=1)
    assert fewer.settings_updated and project["maximum_annotations"] == 1 and project["show_collab_predictions"] is True


def test_a_re_push_after_edits_updates_the_header_and_reports_a_changed_text(work):
    fake = FakeLabelStudio()
    run_push(fake, work)
    first, second = docs(work)[:2]
    path = work / "corpus" / f"{first}.json"
    doc = fileio.read_json(path)
    fileio.write_json(path, doc | {"title": "A new title"})
    task = next(t for t in fake.tasks_by_id.values() if t["data"]["doc_id"] == second)
    task["data"] |= {"text": task["data"]["text"] + " edited", "feedback": "kept"}
    report = run_push(fake, work)
    assert report.data_updated == 1 and report.imported == 0
    assert next(t for t in fake.tasks_by_id.values() if t["data"]["doc_id"] == first)["data"]["title"] == "A new title"
    assert report.changed == [(second, task["id"])] and task["data"]["feedback"] == "kept"


def test_predictions_ride_inline_and_are_replaced_only_when_the_layer_changes(work):
    fake = FakeLabelStudio()
    report = run_push(fake, work, predictions="gold", overlap=1)
    assert report.predictions_added == len(docs(work)) and fake.calls.count("import_predictions") == 0  # inline
    assert all(len(t["prediction_ids"]) == 1 for t in fake.tasks_by_id.values())
    same = run_push(fake, work, predictions="gold", overlap=1)
    assert (same.predictions_unchanged, same.predictions_replaced) == (len(docs(work)), 0)
    doc = docs(work)[0]
    gold = work / "annotations" / doc / "gold.json"
    record = fileio.read_json(gold)
    record["entities"][0]["attributes"]["mention"] = "NOM" if record["entities"][0]["attributes"]["mention"] == "NAM" else "NAM"
    fileio.write_json(gold, record)
    changed = run_push(fake, work, predictions="gold", overlap=1)
    assert (changed.predictions_replaced, changed.predictions_unchanged) == (1, len(docs(work)) - 1)
    assert len(fake.predictions) == len(docs(work)) and fake.calls.count("delete_prediction") == 1


def test_a_subset_by_set_and_ids_with_the_muc_key_fillers_as_predictions(muc_work):
    fake = FakeLabelStudio()
    tst3 = sorted(d for d in docs(muc_work) if d.startswith("tst3-"))
    report = run_push(fake, muc_work, sets=["TST3"], predictions="muc4-key")
    assert report.imported == len(tst3) == 100 and sorted(t["data"]["doc_id"] for t in fake.tasks_by_id.values()) == tst3
    project = fake.projects[report.project_id]
    assert project["show_collab_predictions"] is True and project["model_version"] == "muc4-key"  # annotators start from the keys
    task = next(t for t in fake.tasks_by_id.values() if t["data"]["doc_id"] == "tst3-muc4-0002")
    [pred] = [fake.predictions[i] for i in task["prediction_ids"]]
    text = task["data"]["text"]
    regions = [r for r in pred["result"] if r["type"] == "labels"]
    assert pred["model_version"] == "muc4-key" and regions
    for r in regions:  # every region slices the text, is an entity, names its slot
        v = r["value"]
        assert v["text"] == text[v["start"]:v["end"]] and r["from_name"] == "entity" and r["meta"]["text"][0].startswith("MUC-4 key: ")
    key = fileio.read_json(muc_work / "annotations" / "tst3-muc4-0002" / "muc4-key.json")
    jesuits = [m for fill in key["templates"][0]["slots"]["HUM TGT: DESCRIPTION"] for v in fill["values"] for m in v["mentions"]
               if v["string"] == "JESUITS"]
    got = {(r["value"]["start"], r["value"]["end"]): (r["value"]["labels"], r["meta"]["text"]) for r in regions}
    assert jesuits and all(got[(m["start"], m["end"])] == (["PER"], ["MUC-4 key: HUM TGT: DESCRIPTION"]) for m in jesuits)
    # what an annotator accepts converts back without an issue
    assert convert.results_to_record(pred["result"], text, document="tst3-muc4-0002", annotator="annotator-1").issues == []
    # the sample list of ids adds its TST4 messages; those already there are skipped
    listed = [line.split("#")[0].strip() for line in (ROOT / "annotations" / "muc-sample.txt").read_text().splitlines()]
    listed = sorted({d for d in listed if d})
    more = run_push(fake, muc_work, ids_file=ROOT / "annotations" / "muc-sample.txt", predictions="muc4-key")
    assert more.imported == sum(1 for d in listed if d not in tst3) and more.skipped == sum(1 for d in listed if d in tst3)
    assert more.predictions_unchanged == more.skipped
    # both: the listed messages of TST4 only
    both = run_push(FakeLabelStudio(), muc_work, sets=["tst4"], ids_file=ROOT / "annotations" / "muc-sample.txt")
    assert both.imported == sum(1 for d in listed if d.startswith("tst4-")) > 0


def test_a_bad_subset_is_one_addressed_line(muc_work):
    ids = muc_work / "ids.txt"
    ids.write_text("tst3-muc4-0001\n\nno-such-doc  # gone\nNot An Id\n", encoding="utf-8")
    with pytest.raises(ProblemError) as e:
        run_push(FakeLabelStudio(), muc_work, ids_file=ids)
    assert e.value.message.startswith(f"{ids} doc=no-such-doc /2 [unknown-document]") and len(e.value.problems) == 2
    assert e.value.problems[1].slug == "bad-id"
    with pytest.raises(push.UserError, match="no corpus document is in the set"):
        run_push(FakeLabelStudio(), muc_work, sets=["TST9"])


def test_push_connects_the_recommender_once(muc_work):
    fake = FakeLabelStudio()
    server = Server(fake.url, "fake-token", transport=fake.transport(), backoff=0)
    url = "http://127.0.0.1:9092"
    first = run_push(server, muc_work, sets=["TST3"], predictions="muc4-key", recommender=url)
    again = run_push(server, muc_work, sets=["TST3"], predictions="muc4-key", recommender=url)
    assert first.recommender == again.recommender == 1 and fake.calls.count("connect_ml") == 1
    assert list(fake.ml_backends.values()) == [{"id": 1, "url": url, "project": first.project_id,
                                                 "title": "raidcorpus-recommender", "is_interactive": False}]
    project = fake.projects[first.project_id]
    assert project["show_collab_predictions"] is True and project["model_version"] == "raidcorpus-recommender"
    assert again.settings_updated == [] and any("recommender connected" in line for line in again.lines())


def test_a_lost_import_reply_never_imports_a_task_twice(work):
    fake = FakeLabelStudio()
    fake.lose_next_import = True
    report = run_push(fake, work)
    assert report.imported == len(docs(work)) and len(fake.tasks_by_id) == len(docs(work))
    assert fake.calls.count("import_tasks") == 1  # the batch had arrived: nothing sent again


def test_pull_writes_one_record_per_annotator_and_a_second_pull_changes_nothing(work):
    fake = FakeLabelStudio()
    run_push(fake, work)
    annotate_all(fake, work, "annotator-1")
    annotate_all(fake, work, "annotator-2")
    out = work / "pulled"
    report = pull.pull(fake, TITLE, out, work / "corpus")
    assert report.invalid == [] and len(report.written) == 2 * len(docs(work)), report.lines()
    for doc in docs(work):
        for layer in ("annotator-1", "annotator-2"):
            got, committed = fileio.read_json(out / doc / f"{layer}.json"), fileio.read_json(work / "annotations" / doc / f"{layer}.json")
            assert {k: v for k, v in got.items() if k != "source"} == {k: v for k, v in committed.items() if k != "source"}
    raw = gzip.decompress(Path(report.raw_file).read_bytes())
    assert b"@example.org" not in raw and b"created_ago" in raw  # scrubbed; the volatile field kept in the file
    before = layers(work)
    again = pull.pull(fake, TITLE, out, work / "corpus")
    assert again.raw_unchanged and again.written == [] and layers(work) == before  # created_ago differs, nothing new


def test_deleted_annotations_tasks_and_users_and_tasks_without_annotations(work):
    fake = FakeLabelStudio()
    run_push(fake, work)
    one = annotate_all(fake, work, "annotator-1")
    annotate_all(fake, work, "annotator-2")
    fake.import_tasks(fake.project(TITLE).id, [{"data": {"doc_id": "unannotated", "text": "Nothing here."}}])
    out = work / "pulled"
    first = pull.pull(fake, TITLE, out, work / "corpus")
    assert len(first.written) == 2 * len(docs(work))
    a, b, c = sorted(t["id"] for t in fake.tasks_by_id.values() if t["data"]["doc_id"] != "unannotated")
    fake.delete_annotation(fake.tasks_by_id[a]["annotation_ids"][1])  # annotator-2's layer of one document
    fake.delete_task(b)  # both layers of another
    fake.delete_user(one)  # annotator-1's work stays annotator-1's
    report = pull.pull(fake, TITLE, out, work / "corpus")
    doc_a, doc_b = fake.tasks_by_id[a]["data"]["doc_id"], next(d for d in docs(work) if d not in
                                                               {t["data"]["doc_id"] for t in fake.tasks_by_id.values()})
    assert [r.split(":")[0] for r in report.removed] == [str(out / doc_a / "annotator-2.json")]
    assert sorted(r.split(":")[0] for r in report.kept) == [str(out / doc_b / f"annotator-{n}.json") for n in (1, 2)]
    assert (out / doc_b / "annotator-1.json").exists() and not (out / "unannotated").exists()
    assert report.written == [] and (out / doc_a / "annotator-1.json").exists()


def test_a_layer_that_fails_validation_is_quarantined_then_released_when_fixed(work):
    fake = FakeLabelStudio()
    run_push(fake, work)
    user = fake.add_user("someone@example.org")
    task = min(fake.tasks_by_id.values(), key=lambda t: t["id"])
    doc = task["data"]["doc_id"]
    good = convert.record_to_results(fileio.read_json(work / "annotations" / doc / "annotator-1.json"))
    bad = good + [{"id": "zz", "from_name": "entity", "to_name": "text", "type": "labels",
                   "value": {"start": 0, "end": 3, "labels": ["NO-SUCH-TYPE"]}}]
    aid = fake.annotate(task["id"], user, bad)
    out = work / "pulled"
    report = pull.pull(fake, TITLE, out, work / "corpus")
    assert report.quarantined == [str(out / doc / "quarantine" / "annotator-1.json")]
    assert any("[unknown-label]" in line and f"/projects/1/data?task={task['id']}" in line for line in report.invalid), report.invalid
    assert not (out / doc / "annotator-1.json").exists()
    fake.update_annotation(aid, good)
    fixed = pull.pull(fake, TITLE, out, work / "corpus")
    assert fixed.released == [str(out / doc / "annotator-1.json")] and not (out / doc / "quarantine").exists()


def test_the_http_client_pages_through_tasks_and_pulls_what_the_fake_gives_directly(work):
    """labelstudio.Server over the fake's REST paths (two tasks a page): the same files, byte for byte."""
    fake = FakeLabelStudio()
    server = Server(fake.url, "fake-token", transport=fake.transport(page_size_cap=2), backoff=0)
    run_push(server, work, predictions="gold")
    assert len(server.tasks(1)) == len(docs(work)) > 2
    annotate_all(fake, work, "annotator-1")
    direct = pull.pull(fake, TITLE, work / "direct", work / "corpus")
    over_http = pull.pull(server, TITLE, work / "http", work / "corpus")
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*.json")}  # noqa: E731
    assert files(work / "direct") == files(work / "http") and len(direct.written) == len(over_http.written) == len(docs(work))


def test_a_rejected_token_is_one_addressed_line_without_the_token(work):
    fake = FakeLabelStudio()
    server = Server(fake.url, "wrong-s3cret", transport=fake.transport(), backoff=0)
    with pytest.raises(ProblemError) as caught:
        push.push(server, TITLE, work / "corpus", work / "annotations")
    line = caught.value.message
    assert line == (f"{fake.url}/api/current-user/whoami doc=- / [ls-token-rejected] Label Studio at {fake.url} "
                    "rejected the token (401): check LABEL_STUDIO_API_KEY")
    assert "s3cret" not in line


def test_curation_round_trip_appends_the_curators_decisions_once(work, monkeypatch):
    """Verviers without its decisions: curate --push puts it in the curation project (once), the
    curator's annotation comes back as decisions that reproduce gold; a second pull appends nothing."""
    from test_curate import VERVIERS, disputed_gold, strip

    monkeypatch.chdir(work)
    (work / "annotations" / VERVIERS / "decisions.yaml").unlink()
    fake = FakeLabelStudio()
    fake.create_project("curation", curate.config())
    empty = curate.pull_curation(fake, "curation", work / "annotations", work / "corpus")
    assert empty.lines == ["no curated tasks in 'curation' yet"]
    first = curate.push_curation(fake, "curation", work / "annotations", work / "corpus")
    assert first.lines[-1] == "1 documents added for curation" and f"{VERVIERS}: 4 undecided items" in "\n".join(first.lines)
    (task,) = fake.tasks_by_id.values()
    assert sorted(fake.predictions[p]["model_version"] for p in task["prediction_ids"]) == ["annotator-1", "annotator-2"]
    again = curate.push_curation(fake, "curation", work / "annotations", work / "corpus")
    assert again.lines[-1] == "0 documents added for curation" and len(fake.tasks_by_id) == 1

    fake.annotate(task["id"], fake.add_user("curator@example.org"), convert.record_to_results(disputed_gold(VERVIERS)))
    pulled = curate.pull_curation(fake, "curation", work / "annotations", work / "corpus")
    assert pulled.conflicts == [] and pulled.written == [str(work / "annotations" / VERVIERS / "decisions.yaml")]
    decisions = fileio.read_yaml(work / "annotations" / VERVIERS / "decisions.yaml")["decisions"]
    assert len(decisions) == 4
    adjudicate.adjudicate([work / "annotations"], work / "corpus")
    assert strip(fileio.read_json(work / "annotations" / VERVIERS / "gold.json")) == strip(disputed_gold(VERVIERS))
    before = (work / "annotations" / VERVIERS / "decisions.yaml").read_bytes()
    twice = curate.pull_curation(fake, "curation", work / "annotations", work / "corpus")
    assert twice.written == [] and "nothing undecided any more" in twice.lines[-1]
    assert (work / "annotations" / VERVIERS / "decisions.yaml").read_bytes() == before


def test_feedback_registers_one_webhook_and_shows_problems_on_the_task(work):
    fake = FakeLabelStudio()
    run_push(fake, work)
    pid = fake.project(TITLE).id
    first = feedback.register(fake, pid, f"http://127.0.0.1:9{feedback.PATH}")
    assert feedback.register(fake, pid, f"http://127.0.0.1:9{feedback.PATH}") == first and len(fake.hooks) == 1
    task = min(fake.tasks_by_id.values(), key=lambda t: t["id"])
    fake.annotate(task["id"], fake.add_user("x@example.org"), [{"id": "zz", "from_name": "entity", "to_name": "text",
                  "type": "labels", "value": {"start": 0, "end": 3, "labels": ["NO-SUCH-TYPE"]}}])
    receiver = feedback.Receiver(fake, work / "corpus", project_id=pid)
    try:
        assert receiver.refresh(task["id"]) and not receiver.refresh(task["id"])  # written once, then unchanged
    finally:
        receiver.http.server_close()
    data = fake.tasks_by_id[task["id"]]["data"]
    assert data[feedback.COUNT_FIELD] == 1 and "entity label 'NO-SUCH-TYPE' is not in the ontology" in data[feedback.FIELD]


def test_annotators_add_names_the_new_account_by_its_pseudonym(work, capsys):
    fake = FakeLabelStudio()
    lines = annotators.add(fake, "new.person@example.org", annotations_dir=work / "annotations")
    uid = max(fake.accounts)
    assert fake.accounts[uid]["first_name"] == "annotator-1"
    assert lines[0].startswith(f"account created at {fake.url}: user id {uid}, annotator-1 in ")
    assert all("new.person" not in line for line in lines)
    assert "annotator-1" in (work / "annotations" / "annotators.yaml").read_text()


def test_a_personal_access_token_is_exchanged_for_an_access_token_and_renewed_once_on_401():
    import httpx

    seen, issued = [], iter(["first", "second"])

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/api/token/refresh":
            return httpx.Response(200, json={"access": next(issued)})
        if request.headers.get("Authorization") == "Bearer first" and len(seen) > 2:
            return httpx.Response(401, json={"detail": "Token is expired"})
        return httpx.Response(200, json={"id": 5})

    server = Server("http://fake:1", "eyJhbGciOi.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig", transport=httpx.MockTransport(answer))
    assert server.check() == 5 and server.check() == 5
    assert seen == [("/api/token/refresh", None), ("/api/current-user/whoami", "Bearer first"),
                    ("/api/current-user/whoami", "Bearer first"), ("/api/token/refresh", None),
                    ("/api/current-user/whoami", "Bearer second")]
