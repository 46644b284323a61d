"""The HTTP edge: a few calls to a Label Studio server through label-studio-sdk.

Everything here either returns plain data or raises UserError with one line that never
contains the token. Server errors (5xx, 429) and timeouts are retried with bounded backoff.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import queue
import re
import sys
import threading
import time
from types import SimpleNamespace
from typing import Iterator
from urllib.parse import urlparse

import httpx
import orjson

from .errors import UserError

URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8080"


def shown(url: str) -> str:
    """The URL as messages show it: a user name, password or token in it becomes ***."""
    try:
        parsed = urlparse(url)
    except ValueError:
        return "***"
    if "@" in (parsed.netloc or ""):
        url = parsed._replace(netloc="***@" + parsed.netloc.rsplit("@", 1)[1]).geturl()
    return re.sub(r"(?i)([?&;](?:token|key|api_key|apikey|access_token|password|pw|secret)=)[^&#;]*", r"\1***", url)


def resolve_url(url: str | None) -> str:
    url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    try:
        parsed = urlparse(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.hostname)
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise UserError(f"not a Label Studio URL: {shown(url)!r} (expected http://host:port)", 2)
    return url


def resolve_token(prompt: bool = True) -> str:
    """The API token from LABEL_STUDIO_API_KEY, else asked for without echo."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token and prompt and sys.stdin.isatty():
        try:
            token = getpass.getpass("Label Studio API token: ").strip()
        except EOFError:
            token = ""
    if not token:
        raise UserError(f"no Label Studio token: set {TOKEN_ENV} (Account & Settings > Legacy token)", 2)
    return token


EXPORT_PART = 300  # task ids per export request: a URL of about 6 kB (proxies often refuse more than 8 kB)
SPREAD = 2  # the project's id range may be at most this many times its number of tasks for a parted export
AHEAD = 4  # export parts fetched ahead of the one the caller works on: the server never waits for a slower part


def _ahead(items: list, fetch) -> Iterator:
    """fetch(item) for each item, in order, each fetched in a thread while the caller works on the
    ones before (at most AHEAD waiting). An error of a fetch is raised to the caller at that item; a
    caller that stops early stops the thread after the fetch under way."""
    done = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def run():
        for item in items:
            if stop.is_set():
                return
            try:
                done.put((True, fetch(item)))
            except BaseException as e:  # handed to the caller, raised there
                done.put((False, e))
                return

    worker = threading.Thread(target=run, name="export-parts", daemon=True)
    worker.start()
    try:
        for _ in items:
            ok, value = done.get()
            if not ok:
                raise value
            yield value
    finally:
        stop.set()
        try:
            done.get_nowait()  # a put blocked on the full queue goes through, and the thread sees `stop`
        except queue.Empty:
            pass


def _answer(resp):
    """A REST reply's JSON (None when empty), or the SDK's ApiError for an error status, which
    Server.call's retry policy knows."""
    from label_studio_sdk.core.api_error import ApiError

    if resp.status_code >= 400:
        try:
            detail = resp.json()
        except ValueError:
            detail = resp.text
        raise ApiError(status_code=resp.status_code, body=detail)
    return resp.json() if resp.content else None


class Ambiguous(UserError):
    """A request that may or may not have taken effect (its reply was lost): read back before retrying."""


class Server:
    """One Label Studio server reached with one token."""

    def __init__(self, url: str, token: str, timeout: float = 60.0, retries: int = 3, backoff: float = 0.5):
        # The SDK's HTTP client (its headers for either kind of token) without the SDK's full client,
        # whose import loads pandas (about 1 s): the calls of push and pull go through `http`, and
        # `client`, the full SDK client, is made the first time something asks for it.
        from label_studio_sdk.core.client_wrapper import SyncClientWrapper

        self.url = url
        self.shown = shown(url)  # what messages print: never a password or token
        self.retries = retries
        self.backoff = backoff
        self._sdk = {"base_url": url, "api_key": token, "timeout": timeout, "max_retries": 0}
        self._client = None
        self.http = SyncClientWrapper(base_url=url, api_key=token, timeout=timeout, max_retries=0,
                                      httpx_client=httpx.Client(timeout=timeout)).httpx_client

    @property
    def client(self):
        """The SDK's client (made on first use)."""
        if self._client is None:
            from label_studio_sdk import LabelStudio

            self._client = LabelStudio(**self._sdk)
        return self._client

    # -- the one place that talks to the network ------------------------------------------

    def call(self, what: str, fn, *args, retry: bool = True, **kwargs):
        """Run one SDK call; retry server errors and timeouts, turn the rest into one-line UserErrors.

        retry=False is for calls that are not idempotent (an import): a server error, timeout or
        dropped connection then raises Ambiguous at once, since the server may have done the work
        and only the reply was lost; the caller reads the state back before trying again."""
        from label_studio_sdk.core.api_error import ApiError

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                return fn(*args, **kwargs)
            except ApiError as e:
                code = e.status_code or 0
                if (code >= 500 or code == 429) and not retry:
                    raise Ambiguous(f"Label Studio at {self.shown} answered HTTP {code} to: {what}") from None
                if (code >= 500 or code == 429) and not last:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                raise UserError(self._api_message(what, code, e.body)) from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ConnectError) as e:
                if not retry and not isinstance(e, httpx.ConnectError):  # sent, but no reply: it may have taken effect
                    raise Ambiguous(f"Label Studio at {self.shown} did not answer ({type(e).__name__}): {what}") from None
                if not last:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                if isinstance(e, httpx.ConnectError):
                    raise UserError(f"cannot reach Label Studio at {self.shown}: is it running? (`make label` starts one)") from None
                raise UserError(f"Label Studio at {self.shown} did not answer ({type(e).__name__}) after {self.retries + 1} tries: {what}") from None
            except httpx.HTTPError as e:
                raise UserError(f"HTTP error talking to {self.shown} ({type(e).__name__}): {what}") from None
            except ValueError:
                # JSON that is not Label Studio's: something else answers at this URL.
                raise UserError(f"{self.shown} does not answer like Label Studio: check the URL ({what})") from None

    def _api_message(self, what: str, code: int, body) -> str:
        detail = ""
        if isinstance(body, dict):
            detail = str(body.get("detail") or body.get("validation_errors") or "")
        elif isinstance(body, str) and not body.lstrip().startswith("<"):
            detail = body
        detail = " ".join(detail.split())[:300]
        if code == 401:
            return f"Label Studio at {self.shown} rejected the token (401): check {TOKEN_ENV}"
        if code == 403:
            return f"the token may not {what} at {self.shown} (403)"
        if code == 404:
            return f"not found at {self.shown} while trying to {what} (404): is this the Label Studio URL?"
        if code >= 500:
            return f"Label Studio at {self.shown} failed to {what} (HTTP {code}) after {self.retries + 1} tries"
        return f"Label Studio refused to {what} (HTTP {code}){': ' + detail if detail else ''}"

    # -- calls -----------------------------------------------------------------------------

    def check(self) -> int:
        """Fail early on a wrong URL or token; returns the token owner's user id."""
        me = self.rest("check the token", "GET", "api/current-user/whoami")
        if not isinstance(me, dict) or not isinstance(me.get("id"), int):
            raise UserError(f"{self.shown} does not answer like Label Studio: check the URL (check the token)")
        return me["id"]

    def identity(self) -> str:
        """A name for this server, the same from every machine and every token: 16 hex digits of the
        sha256 of the token owner's organization id and creation time (neither secret nor personal)."""
        def fetch():
            me = self.http.request("api/current-user/whoami", method="GET")
            orgs = self.http.request("api/organizations/", method="GET")
            for resp in (me, orgs):
                if resp.status_code >= 400:
                    raise ApiError(status_code=resp.status_code, body=None)
            return me.json().get("active_organization"), orgs.json()

        from label_studio_sdk.core.api_error import ApiError

        active, orgs = self.call("read the organization", fetch)
        org = next((o for o in orgs if isinstance(o, dict) and o.get("id") == active), None) if isinstance(orgs, list) else None
        if org is None or not org.get("created_at"):
            raise UserError(f"{self.shown} did not say which organization the token belongs to: cannot name the annotators")
        return hashlib.sha256(f"label-studio-organization:{org['id']}:{org['created_at']}".encode()).hexdigest()[:16]

    def find_project(self, title: str):
        projects, page = [], 1
        while True:
            found = self.rest("list projects", "GET", "api/projects/", params={"title": title, "page_size": 100, "page": page})
            if not isinstance(found, dict) or not isinstance(found.get("results"), list):
                raise UserError(f"{self.shown} does not answer like Label Studio: check the URL (list projects)")
            projects += [SimpleNamespace(**p) for p in found["results"] if isinstance(p, dict)]
            if not found.get("next"):
                break
            page += 1
        same = [p for p in projects if p.title == title]
        if len(same) > 1:
            raise UserError(f"{len(same)} projects are titled {title!r} at {self.shown}: rename all but one")
        return same[0] if same else None

    def project(self, title: str):
        found = self.find_project(title)
        if found is None:
            raise UserError(f"no project titled {title!r} at {self.shown}: run `raidcorpus push` first")
        return found

    def create_project(self, title: str, config: str, description: str = ""):
        return self.call("create the project", self.client.projects.create, title=title, label_config=config, description=description)

    def update_config(self, project_id: int, config: str):
        return self.call("update the labelling config", self.client.projects.update, id=project_id, label_config=config)

    def update_project(self, project_id: int, settings: dict):
        return self.call("update the project settings", self.client.projects.update, id=project_id, **settings)

    def invite_token(self) -> str:
        """The organization's invitation token (sign-up link), readable by its members."""
        def fetch():
            resp = self.http.request("api/invite", method="GET")
            if resp.status_code >= 400:
                raise ApiError(status_code=resp.status_code, body=None)
            return resp.json()["token"]

        from label_studio_sdk.core.api_error import ApiError

        return self.call("read the invitation link", fetch)

    def validate_config(self, project_id: int, config: str):
        return self.call("validate the labelling config", self.client.projects.validate_label_config, id=project_id, label_config=config)

    def used_labels(self, project_id: int) -> dict:
        """{control name: {label: count}} over the project's existing annotations."""
        resp = self.call("read the project summary", self.http.request,
                         f"api/projects/{project_id}/summary/", method="GET")
        if resp.status_code >= 400:
            return {}
        return resp.json().get("created_labels") or {}

    def tasks(self, project_id: int) -> list[dict]:
        """Every task's id, data and predictions (model version and result)."""
        out: list[dict] = []
        page = 1
        while True:
            found = self.rest("list tasks", "GET", "api/tasks/", params={"project": project_id, "fields": "all", "page_size": 500, "page": page})
            tasks = found.get("tasks") if isinstance(found, dict) else None
            if not isinstance(tasks, list):
                raise UserError(f"{self.shown} does not answer like Label Studio: check the URL (list tasks)")
            out += [t for t in tasks if isinstance(t, dict)]
            total = found.get("total")
            if not tasks or not isinstance(total, int) or len(out) >= total:
                return out
            page += 1

    def import_tasks(self, project_id: int, tasks: list[dict]):
        return self.post_json("import tasks", f"api/projects/{project_id}/import?return_task_ids=true", tasks, retry=False)

    def import_predictions(self, project_id: int, predictions: list[dict]):
        return self.post_json("import predictions", f"api/projects/{project_id}/import/predictions", predictions, retry=False)

    def post_json(self, what: str, path: str, body, retry: bool = True):
        """POST a JSON body encoded by orjson (the SDK's encoder walks every value in Python: a batch
        of 1,000 tasks took about 40% longer to import through it); the JSON answer or None."""
        data = orjson.dumps(body)

        def send():
            return _answer(self.http.request(path, method="POST", content=data, headers={"Content-Type": "application/json"}))
        return self.call(what, send, retry=retry)

    def delete_prediction(self, prediction_id: int):
        return self.call("delete a prediction", self.client.predictions.delete, prediction_id)

    def export(self, project_id: int) -> bytes:
        """The full JSON export of every task, as the server sends it."""
        return self.call("export the project", lambda: b"".join(
            self.client.projects.exports.download_sync(project_id, export_type="JSON", download_all_tasks=True)))

    def export_parts(self, project_id: int) -> Iterator[bytes]:
        """The full JSON export as a few JSON lists of tasks, in task id order, each part asked for
        while the caller works on the ones before (a thread fetches parts ahead).

        Label Studio's export takes a list of task ids (`ids[]`, at most EXPORT_PART of them per
        request so that the URL stays short), so the project's range of ids is cut into runs of
        consecutive ids; ids of other projects' tasks in a run are simply not found. When the
        project's ids are spread too thinly for that (or it has no task), the export is one part."""
        def page(extra: str):
            found = self.rest("list the project's task ids", "GET", f"api/tasks/?project={project_id}&include=id&page_size=1{extra}")
            tasks = found.get("tasks") if isinstance(found, dict) else None
            if not tasks or not isinstance(tasks[0], dict) or not isinstance(tasks[0].get("id"), int):
                return None, 0
            return tasks[0]["id"], found.get("total") if isinstance(found.get("total"), int) else 0

        low, total = page("")
        high, _ = page(f"&page={total}") if total else (None, 0)
        whole = f"api/projects/{project_id}/export?exportType=JSON&download_all_tasks=true"
        if low is None or high is None or high < low or high - low + 1 > SPREAD * total + EXPORT_PART:
            yield self.raw_get("export the project", whole)
            return
        urls = [whole + "".join(f"&ids[]={i}" for i in range(start, min(start + EXPORT_PART, high + 1)))
                for start in range(low, high + 1, EXPORT_PART)]
        yield from _ahead(urls, lambda url: self.raw_get("export the project", url))

    def raw_get(self, what: str, path: str) -> bytes:
        """The body of one GET, as bytes (not parsed), through the retry policy of `call`."""
        from label_studio_sdk.core.api_error import ApiError

        def send():
            resp = self.http.request(path, method="GET")
            if resp.status_code >= 400:
                raise ApiError(status_code=resp.status_code, body=resp.text)
            return resp.content
        return self.call(what, send)

    def users(self) -> list[dict]:
        found = self.rest("list users", "GET", "api/users/")
        return [{"id": u.get("id"), "email": u.get("email")} for u in found or () if isinstance(u, dict)]

    def create_annotation(self, task_id: int, result: list[dict]):
        return self.call("create an annotation", self.client.annotations.create, id=task_id, result=result)

    def update_annotation(self, annotation_id: int, result: list[dict]):
        return self.call("update an annotation", self.client.annotations.update, id=annotation_id, result=result)


    # -- plain REST calls, for what the SDK does not cover well (webhooks, task data) ----------

    def rest(self, what: str, method: str, path: str, body=None, params: dict | None = None):
        """One REST call through the SDK's HTTP client and retry policy; the JSON answer or None."""
        def send():
            return _answer(self.http.request(path, method=method, json=body, params=params))
        return self.call(what, send)

    def name_user(self, user_id: int, name: str) -> None:
        """Show the account under `name` (its pseudonym) wherever Label Studio would show its address."""
        self.rest(f"name user {user_id}", "PATCH", f"api/users/{user_id}/", {"first_name": name})

    def task(self, task_id: int) -> dict:
        """One task with its data and annotations."""
        return self.rest(f"read task {task_id}", "GET", f"api/tasks/{task_id}/")

    def update_task_data(self, task_id: int, data: dict) -> dict:
        return self.rest(f"update task {task_id}", "PATCH", f"api/tasks/{task_id}/", {"data": data})

    def webhooks(self, project_id: int) -> list[dict]:
        found = self.rest("list webhooks", "GET", f"api/webhooks/?project={project_id}") or []
        return [h for h in found if isinstance(h, dict)]

    def create_webhook(self, body: dict) -> dict:
        return self.rest("create a webhook", "POST", "api/webhooks/", body)

    def update_webhook(self, hook_id: int, body: dict) -> dict:
        return self.rest("update a webhook", "PATCH", f"api/webhooks/{hook_id}/", body)


def signup(url: str, email: str, password: str, timeout: float = 30.0, invite: str | None = None) -> str:
    """Create an annotator account through the sign-up page and return its own API token.

    Label Studio community has no admin API that sets a password or hands out another user's
    token, so the account signs itself up (with the organization's invitation token when sign-up
    without a link is closed) and reads its token.
    """
    page = "/user/signup/" + (f"?token={invite}" if invite else "")
    with httpx.Client(base_url=url, timeout=timeout, follow_redirects=False) as web:
        try:
            web.get(page)
            csrf = web.cookies.get("csrftoken", "")
            form = {"email": email, "password": password, "csrfmiddlewaretoken": csrf, "allow_newsletters": "false"}
            resp = web.post(page, data=form, headers={"Referer": f"{url}{page}"})
            if resp.status_code != 302:
                # Existing account: log in instead.
                resp = web.post("/user/login/", data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
                                headers={"Referer": f"{url}/user/login/"})
            token = web.get("/api/current-user/token")
        except httpx.HTTPError as e:
            raise UserError(f"cannot reach Label Studio at {shown(url)} ({type(e).__name__})") from None
        if token.status_code != 200:
            raise UserError(f"could not sign up or log in {email} at {shown(url)} (HTTP {token.status_code}): wrong password for an existing account?")
        return token.json()["token"]

