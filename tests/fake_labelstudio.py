"""An in-memory Label Studio for unit tests of push, pull, curate, feedback and `annotators add`.

FakeLabelStudio implements labelstudio.LabelStudio directly (tasks, annotations, predictions,
webhooks and users in dicts), and `transport()` serves the same state over the REST paths
labelstudio.Server calls, so the real client (pagination, retries, error lines) can run against it
too. It behaves like the real server (label-studio 1.23) in what the project relies on: ids
counted per kind from 1 across projects, the full JSON export's shape (annotations with
`completed_by` as a user id, `created_username` as "address, id", the volatile `created_ago`),
predictions and annotations inline in an import, a deleted user's annotations left with
`completed_by` None. `lose_next_import` commits an import and then loses its reply, as a
dropped connection does.
"""

from __future__ import annotations

import hashlib
import re
from itertools import count
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
import orjson

from raidcorpus.errors import Problem
from raidcorpus.labelstudio import Ambiguous

SETTINGS = {"maximum_annotations": 1, "overlap_cohort_percentage": 100, "show_overlap_first": False,
            "sampling": "Sequential sampling", "skip_queue": "REQUEUE_FOR_OTHERS", "show_collab_predictions": True,
            "reveal_preannotations_interactively": False, "show_annotation_history": False, "show_skip_button": True,
            "expert_instruction": "", "show_instruction": False}
STAMP = "2026-12-01T10:00:{:02d}.000000Z"


class FakeLabelStudio:
    def __init__(self, url: str = "http://fake-label-studio:8080", owner: str = "owner@example.org"):
        self.url = url
        self.shown = url
        self.backoff = 0.0
        self.ids = {kind: count(1) for kind in ("project", "task", "annotation", "prediction", "webhook", "user", "ml")}
        self.projects: dict[int, dict] = {}
        self.tasks_by_id: dict[int, dict] = {}
        self.annotations: dict[int, dict] = {}
        self.predictions: dict[int, dict] = {}
        self.hooks: dict[int, dict] = {}
        self.ml_backends: dict[int, dict] = {}  # connected ML backends (POST /api/ml)
        self.accounts: dict[int, dict] = {}
        self.clock = count(0)
        self.lose_next_import = False
        self.calls: list[str] = []  # method names, in order: what a test can count
        self.me = self.add_user(owner)

    # -- helpers for tests: what annotators do in the browser ---------------------------------

    def add_user(self, email: str) -> int:
        uid = next(self.ids["user"])
        self.accounts[uid] = {"id": uid, "email": email, "first_name": ""}
        return uid

    def delete_user(self, uid: int) -> None:
        del self.accounts[uid]
        for ann in self.annotations.values():
            if ann["completed_by"] == uid:
                ann["completed_by"] = None

    def annotate(self, task_id: int, user: int, result: list[dict], was_cancelled: bool = False) -> int:
        aid = next(self.ids["annotation"])
        task = self.tasks_by_id[task_id]
        now = self._now()
        self.annotations[aid] = {"id": aid, "completed_by": user, "result": result, "was_cancelled": was_cancelled,
                                 "ground_truth": False, "created_at": now, "updated_at": now, "lead_time": 1.0,
                                 "prediction": {}, "result_count": len(result), "task": task_id, "project": task["project"]}
        task["annotation_ids"].append(aid)
        self._fire(task["project"], "ANNOTATION_CREATED", task_id, aid)
        return aid

    def delete_annotation(self, aid: int) -> None:
        ann = self.annotations.pop(aid)
        self.tasks_by_id[ann["task"]]["annotation_ids"].remove(aid)

    def delete_task(self, task_id: int) -> None:
        task = self.tasks_by_id.pop(task_id)
        for aid in task["annotation_ids"]:
            self.annotations.pop(aid, None)

    def _now(self) -> str:
        return STAMP.format(next(self.clock) % 60)

    def _fire(self, project_id, action, task_id, aid) -> None:
        self.fired = getattr(self, "fired", [])
        for hook in self.hooks.values():
            if hook.get("project") == project_id:
                self.fired.append((hook["url"], action, task_id, aid))

    def _task_json(self, task: dict, export: bool = False) -> dict:
        anns = []
        for aid in task["annotation_ids"]:
            ann = dict(self.annotations[aid])
            if export:
                user = self.accounts.get(ann["completed_by"])
                ann["created_username"] = f"{user['email']}, {user['id']}" if user else ""
                ann["created_ago"] = f"{next(self.clock)} minutes"
            anns.append(ann)
        preds = [dict(self.predictions[p]) for p in task["prediction_ids"]]
        return {"id": task["id"], "annotations": anns, "drafts": [], "predictions": preds, "data": dict(task["data"]),
                "meta": {}, "created_at": task["created_at"], "updated_at": task["created_at"], "inner_id": task["id"],
                "total_annotations": len(anns), "cancelled_annotations": sum(a["was_cancelled"] for a in anns),
                "total_predictions": len(preds), "project": task["project"], "updated_by": None, "comment_authors": []}

    # -- labelstudio.LabelStudio -------------------------------------------------------------

    def check(self) -> int:
        self.calls.append("check")
        return self.me

    def identity(self) -> str:
        return hashlib.sha256(b"label-studio-organization:1:2026-12-01T09:00:00Z").hexdigest()[:16]

    def find_project(self, title: str):
        self.calls.append("find_project")
        same = [p for p in self.projects.values() if p["title"] == title]
        return SimpleNamespace(**same[0]) if same else None

    def project(self, title: str):
        found = self.find_project(title)
        assert found is not None, f"no project {title!r}"
        return found

    def create_project(self, title: str, config: str, description: str = ""):
        self.calls.append("create_project")
        pid = next(self.ids["project"])
        self.projects[pid] = {"id": pid, "title": title, "label_config": config, "description": description, **SETTINGS}
        return SimpleNamespace(**self.projects[pid])

    def update_project(self, project_id: int, settings: dict) -> None:
        self.calls.append("update_project")
        self.projects[project_id].update(settings)

    def update_config(self, project_id: int, config: str) -> None:
        self.calls.append("update_config")
        self.projects[project_id]["label_config"] = config

    def tasks(self, project_id: int) -> list[dict]:
        self.calls.append("tasks")
        return [self._task_json(t) for t in self.tasks_by_id.values() if t["project"] == project_id]

    def task(self, task_id: int) -> dict:
        return self._task_json(self.tasks_by_id[task_id])

    def update_task_data(self, task_id: int, data: dict) -> dict:
        self.calls.append("update_task_data")
        self.tasks_by_id[task_id]["data"] = dict(data)
        return self.task(task_id)

    def import_tasks(self, project_id: int, tasks: list[dict]) -> None:
        self.calls.append("import_tasks")
        for item in tasks:
            tid = next(self.ids["task"])
            self.tasks_by_id[tid] = {"id": tid, "project": project_id, "data": dict(item["data"]), "created_at": self._now(),
                                     "annotation_ids": [], "prediction_ids": []}
            for pred in item.get("predictions") or ():
                self._predict(project_id, tid, pred)
            for ann in item.get("annotations") or ():
                self.annotate(tid, ann.get("completed_by", self.me), ann.get("result") or [])
        self._maybe_lose("import tasks")

    def _predict(self, project_id: int, task_id: int, pred: dict) -> None:
        pid = next(self.ids["prediction"])
        self.predictions[pid] = {"id": pid, "model_version": pred.get("model_version", ""), "result": pred.get("result") or [],
                                 "score": None, "task": task_id, "project": project_id}
        self.tasks_by_id[task_id]["prediction_ids"].append(pid)

    def _maybe_lose(self, what: str) -> None:
        if self.lose_next_import:
            self.lose_next_import = False
            raise Ambiguous(Problem(f"{self.url}/api/projects/", None, "/", "ls-unreachable",
                                    f"Label Studio at {self.url} did not answer (ReadTimeout): {what}"))

    def import_predictions(self, project_id: int, predictions: list[dict]) -> None:
        self.calls.append("import_predictions")
        for pred in predictions:
            self._predict(project_id, pred["task"], pred)
        self._maybe_lose("import predictions")

    def delete_prediction(self, prediction_id: int) -> None:
        self.calls.append("delete_prediction")
        pred = self.predictions.pop(prediction_id)
        self.tasks_by_id[pred["task"]]["prediction_ids"].remove(prediction_id)

    def export(self, project_id: int) -> bytes:
        self.calls.append("export")
        return orjson.dumps([self._task_json(t, export=True) for t in self.tasks_by_id.values() if t["project"] == project_id])

    def create_annotation(self, task_id: int, result: list[dict]) -> dict:
        self.calls.append("create_annotation")
        return dict(self.annotations[self.annotate(task_id, self.me, result)])

    def update_annotation(self, annotation_id: int, result: list[dict]) -> dict:
        self.calls.append("update_annotation")
        ann = self.annotations[annotation_id]
        ann.update(result=result, updated_at=self._now(), result_count=len(result))
        self._fire(ann["project"], "ANNOTATION_UPDATED", ann["task"], annotation_id)
        return dict(ann)

    def users(self) -> list[dict]:
        return [{"id": u["id"], "email": u["email"]} for u in self.accounts.values()]

    def name_user(self, user_id: int, name: str) -> None:
        self.accounts[user_id]["first_name"] = name

    def signup(self, email: str, password: str) -> str:
        uid = self.add_user(email)
        return f"token-of-{uid}"

    def webhooks(self, project_id: int) -> list[dict]:
        return [dict(h) for h in self.hooks.values() if h.get("project") == project_id]

    def create_webhook(self, body: dict) -> dict:
        hid = next(self.ids["webhook"])
        self.hooks[hid] = {"id": hid, **body}
        return dict(self.hooks[hid])

    def update_webhook(self, hook_id: int, body: dict) -> dict:
        self.hooks[hook_id].update(body)
        return dict(self.hooks[hook_id])

    # -- the same state over HTTP, for labelstudio.Server ------------------------------------

    def transport(self, page_size_cap: int | None = None) -> httpx.MockTransport:
        """The REST paths labelstudio.Server calls, served from this state. `page_size_cap` lowers
        the page size the server grants (pagination in tests of a few tasks)."""
        def handle(request: httpx.Request) -> httpx.Response:
            path = request.url.path.strip("/")
            query = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
            body = orjson.loads(request.content) if request.content else None
            if request.headers.get("Authorization") != "Token fake-token":
                return httpx.Response(401, json={"detail": "Invalid token."})
            for method, pattern, answer in self._routes(query, body, page_size_cap):
                m = re.fullmatch(pattern, path)
                if m and method == request.method:
                    found = answer(*map(int, m.groups()))
                    if isinstance(found, httpx.Response):
                        return found
                    return httpx.Response(200, content=found if isinstance(found, bytes) else orjson.dumps(found))
            return httpx.Response(404, json={"detail": "Not found."})
        return httpx.MockTransport(handle)

    def _routes(self, query: dict, body, cap: int | None) -> list:
        def page_of_tasks():
            tasks = self.tasks(int(query["project"]))
            size = min(int(query.get("page_size", 100)), cap or 10**9)
            page = int(query.get("page", 1))
            if (page - 1) * size >= len(tasks) and page > 1:
                return httpx.Response(404, json={"detail": "Invalid page."})
            return {"tasks": tasks[(page - 1) * size:page * size], "total": len(tasks)}

        def projects():
            found = [p for p in self.projects.values() if query.get("title", "").lower() in p["title"].lower()]
            return {"count": len(found), "next": None, "results": found}

        return [
            ("GET", r"api/current-user/whoami", lambda: {"id": self.me, "active_organization": 1}),
            ("GET", r"api/organizations", lambda: [{"id": 1, "created_at": "2026-12-01T09:00:00Z"}]),
            ("GET", r"api/projects", projects),
            ("POST", r"api/projects", lambda: vars(self.create_project(body["title"], body["label_config"], body.get("description", "")))),
            ("PATCH", r"api/projects/(\d+)", lambda pid: self.projects[pid].update(body) or self.projects[pid]),
            ("GET", r"api/tasks", page_of_tasks),
            ("GET", r"api/tasks/(\d+)", self.task),
            ("PATCH", r"api/tasks/(\d+)", lambda tid: self.update_task_data(tid, body["data"])),
            ("POST", r"api/projects/(\d+)/import", lambda pid: self.import_tasks(pid, body) or {"task_count": len(body)}),
            ("POST", r"api/projects/(\d+)/import/predictions", lambda pid: self.import_predictions(pid, body) or {"created": len(body)}),
            ("DELETE", r"api/predictions/(\d+)", lambda pid: self.delete_prediction(pid) or httpx.Response(204)),
            ("GET", r"api/projects/(\d+)/export", self.export),
            ("POST", r"api/tasks/(\d+)/annotations", lambda tid: self.create_annotation(tid, body["result"])),
            ("PATCH", r"api/annotations/(\d+)", lambda aid: self.update_annotation(aid, body["result"])),
            ("GET", r"api/users", self.users),
            ("PATCH", r"api/users/(\d+)", lambda uid: self.name_user(uid, body["first_name"]) or self.accounts[uid]),
            ("GET", r"api/invite", lambda: {"token": "invite-token"}),
            ("GET", r"api/webhooks", lambda: self.webhooks(int(query["project"]))),
            ("POST", r"api/webhooks", lambda: self.create_webhook(body)),
            ("PATCH", r"api/webhooks/(\d+)", lambda hid: self.update_webhook(hid, body)),
            ("GET", r"api/ml", lambda: [b for b in self.ml_backends.values() if b["project"] == int(query["project"])]),
            ("POST", r"api/ml", lambda: self.connect_ml(body)),
        ]

    def connect_ml(self, body: dict) -> dict:
        """POST /api/ml: the real server checks the backend's /health and /setup first; the fake keeps the body."""
        self.calls.append("connect_ml")
        mid = next(self.ids["ml"])
        self.ml_backends[mid] = {"id": mid, **body}
        return dict(self.ml_backends[mid])
