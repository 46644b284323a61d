"""Label Studio rows of the benchmark: our push and pull against raw REST calls, on one real server.

The server is started with the tests' own helper (tests/conftest.py, scripts/label-studio.sh)
on a free loopback port, with its data kept in bench/work/label-studio so migrations run once.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import LabelStudio, free_port  # noqa: E402  (the tests' launcher, not a second one)
from run import RAIDCORPUS, WORK, BenchError, Row, run, timed  # noqa: E402

from raidcorpus import convert, fileio, ls_config, push  # noqa: E402
from raidcorpus.labelstudio import Server  # noqa: E402


class LabelStudioBench:
    def __init__(self, data: Path):
        port = free_port()
        env = os.environ | {"LABEL_STUDIO_PORT": str(port), "LABEL_STUDIO_DATA": str(data)}
        env.pop("LABEL_STUDIO_API_KEY", None)
        self.ls = LabelStudio(f"http://127.0.0.1:{port}", port, data, env)
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.projects: list[int] = []

    def __enter__(self) -> "LabelStudioBench":
        started, _ = timed(self.ls.start)
        print(f"Label Studio up in {started:.0f} s", file=sys.stderr)
        self.server = Server(self.ls.url, self.ls.token, timeout=600)
        self.env = self.ls.cli_env()
        return self

    def __exit__(self, *exc) -> None:
        try:
            for pid in self.projects:
                self.server.rest("delete a bench project", "DELETE", f"api/projects/{pid}/")
        finally:
            self.ls.stop()

    def _project(self, title: str):
        project = self.server.create_project(title, ls_config.render())
        self.projects.append(project.id)
        return project

    def payload(self, data: Path, layer: str, key: str) -> list[dict]:
        """The tasks push would send: data plus one layer's results as predictions or annotations."""
        tasks = []
        for doc in push.read_corpus(data / "corpus"):
            record = fileio.read_json(data / "annotations" / doc["id"] / f"{layer}.json")
            item = {"result": convert.record_to_results(record)}
            if key == "predictions":
                item["model_version"] = layer
            tasks.append({"data": push.task_data(doc), key: [item]})
        return tasks

    def push_rows(self, data: Path, n: int, rows: list[Row]) -> None:
        tasks = self.payload(data, "gold", "predictions")
        raw_project = self._project(f"bench raw import {self.stamp}")
        # one raw import request of all tasks, through the client's plain request (no batching, no read-back)
        raw, _ = timed(self.server.request, "import tasks", "POST", f"api/projects/{raw_project.id}/import",
                       body=tasks, params={"return_task_ids": "true"}, retry=False)
        title = f"bench push {self.stamp}"
        self._project(title)  # empty, with the same config: push then only imports
        ours = run([RAIDCORPUS, "push", "--project", title, "--corpus", "corpus", "--annotations", "annotations",
                    "--predictions", "gold"], cwd=data, env=self.env).check("raidcorpus push")
        size = len(orjson.dumps(tasks)) / 1e6
        rows.append(Row(f"push {n:,} tasks with predictions vs one raw import_tasks",
                        f"ours {ours.seconds:.1f} s, raw {raw:.1f} s ({size:.0f} MB payload)",
                        raw / ours.seconds, "speed >= 0.9 of raw", raw / ours.seconds >= 0.9))

    def feedback_rows(self, data: Path, rows: list[Row], rounds: int = 5) -> None:
        """Submit -> problems visible on the task (raidcorpus feedback's receiver, in process), and fixed -> gone."""
        from raidcorpus import feedback

        project = self._project(f"bench feedback {self.stamp}")
        doc = push.read_corpus(data / "corpus")[0]
        self.server.import_tasks(project.id, [{"data": push.task_data(doc)}])
        task = self.server.tasks(project.id)[0]
        good = convert.record_to_results(fileio.read_json(data / "annotations" / doc["id"] / "annotator-1.json"))
        start, end = 0, doc["text"].index(" ")
        bad = good + [
            {"id": "bench1", "from_name": "entity", "to_name": "text", "type": "labels", "value": {"start": start, "end": end, "labels": ["NUM"]}},
            {"id": "bench1", "from_name": "normalized", "to_name": "text", "type": "textarea", "value": {"start": start, "end": end, "text": ["many"]}},
        ]
        receiver = feedback.Receiver(self.server, data / "corpus", project_id=project.id).start()
        shown, gone = [], []
        try:
            feedback.register(self.server, project.id, receiver.url)
            ann = None
            for _ in range(rounds):
                for results, done, times in ((bad, lambda d: d.get(feedback.COUNT_FIELD), shown),
                                             (good, lambda d: d.get(feedback.COUNT_FIELD) == 0, gone)):
                    t0 = time.monotonic()
                    if ann is None:
                        ann = self.server.create_annotation(task["id"], results)
                    else:
                        self.server.update_annotation(ann["id"], results)
                    while not done(self.server.task(task["id"])["data"]):
                        if time.monotonic() - t0 > 30:
                            raise BenchError("feedback did not appear within 30 s")
                        time.sleep(0.05)
                    times.append(time.monotonic() - t0)
        finally:
            receiver.stop()
        median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        rows.append(Row(f"feedback: submit -> problems visible on the task ({rounds} rounds)",
                        f"median {median(shown):.2f} s, max {max(shown):.2f} s; fixed -> gone median {median(gone):.2f} s",
                        max(shown), "<= 5 s (docs/label-studio.md)", max(shown) <= 5))

    def pull_rows(self, data: Path, n: int, rows: list[Row]) -> None:
        title = f"bench pull {self.stamp}"
        project = self._project(title)
        self.server.import_tasks(project.id, self.payload(data, "annotator-1", "annotations"))
        # The server's export time moves by up to a third from one export to the next (42 to 56 s
        # seen), so the download and the pull are each taken twice, alternated, and the best of each
        # compared (as validate's short commands are); both times of each are in the row.
        # A folder for each pull, removed at the end: files made where a tree was just removed are slow here.
        folders = [WORK / f"pulled-{attempt}" for attempt in range(2)]
        downloads, pulls = [], []
        for out in folders:
            download, export = timed(self.server.export, project.id)
            downloads.append(download)
            shutil.rmtree(out, ignore_errors=True)  # left by an interrupted run
            pulls.append(run([RAIDCORPUS, "pull", "--project", title, "--annotations", out / "annotations", "--corpus", "corpus"],
                             cwd=data, env=self.env).check("raidcorpus pull"))
        download = min(downloads)
        pulled = min(pulls, key=lambda timing: timing.seconds)
        saved = WORK / "export.json"
        saved.write_bytes(export)
        converted = run([RAIDCORPUS, "convert", saved, "--annotations", out / "converted", "--corpus", "corpus"],
                        cwd=data).check("raidcorpus convert")
        written = sum(1 for _ in (out / "annotations").glob("*/*.json"))
        if written < n:
            raise BenchError(f"pull wrote {written} records for {n} annotated tasks")
        extra = pulled.seconds / download - 1
        both = lambda times: " and ".join(f"{t:.1f}" for t in times)  # noqa: E731
        rows.append(Row(f"pull {n:,} annotated tasks vs raw export download (best of 2 each)",
                        f"ours {pulled.seconds:.1f} s ({both(p.seconds for p in pulls)}), download {download:.1f} s "
                        f"({both(downloads)}; {len(export) / 1e6:.0f} MB)",
                        pulled.seconds / download, "adds <= 20%", extra <= 0.2))
        rows.append(Row(f"convert a saved export of {n:,} tasks vs its download",
                        f"convert {converted.seconds:.1f} s, download {download:.1f} s",
                        converted.seconds / download, "<= 0.2 of download", converted.seconds / download <= 0.2))
        again = run([RAIDCORPUS, "pull", "--project", title, "--annotations", out / "annotations", "--corpus", "corpus"],
                    cwd=data, env=self.env).check("raidcorpus pull (again)")
        said = again.stdout + again.stderr
        noop = " 0 files written" in said and "nothing new" in said
        rows.append(Row(f"pull the same {n:,} tasks again (nothing new)", f"{again.seconds:.1f} s",
                        again.seconds / download, "a no-op: 0 files written", noop))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
