"""The HTTP edge: the Label Studio REST calls push, pull, feedback, curate and `annotators add` make.

`LabelStudio` is the interface those commands use; `Server` implements it over httpx, and the
tests' in-memory fake (tests/fake_labelstudio.py) implements it too. Every call either returns
plain data or raises a ProblemError with one line addressed by the request's URL and a slug of
errors.SLUGS; the token is only ever in a request header, never in a line. Server errors (5xx,
429) and timeouts are retried with bounded backoff.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import sys
import time
from types import SimpleNamespace
from typing import Protocol
from urllib.parse import urlparse

import httpx
import orjson

from .errors import Problem, ProblemError, UserError

URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8080"
PAGE = 500  # tasks per page when listing a project's tasks


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


class LabelStudio(Protocol):
    """What the commands ask of a Label Studio server. Projects are namespaces with `id`, `title`,
    `label_config` and the project's settings; tasks, annotations and webhooks are the server's JSON."""

    url: str
    shown: str
    backoff: float

    def check(self) -> int: ...
    def identity(self) -> str: ...
    def find_project(self, title: str): ...
    def project(self, title: str): ...
    def create_project(self, title: str, config: str, description: str = ""): ...
    def update_project(self, project_id: int, settings: dict) -> None: ...
    def update_config(self, project_id: int, config: str) -> None: ...
    def tasks(self, project_id: int) -> list[dict]: ...
    def task(self, task_id: int) -> dict: ...
    def update_task_data(self, task_id: int, data: dict) -> dict: ...
    def import_tasks(self, project_id: int, tasks: list[dict]) -> None: ...
    def import_predictions(self, project_id: int, predictions: list[dict]) -> None: ...
    def delete_prediction(self, prediction_id: int) -> None: ...
    def export(self, project_id: int) -> bytes: ...
    def create_annotation(self, task_id: int, result: list[dict]) -> dict: ...
    def update_annotation(self, annotation_id: int, result: list[dict]) -> dict: ...
    def users(self) -> list[dict]: ...
    def name_user(self, user_id: int, name: str) -> None: ...
    def signup(self, email: str, password: str) -> str: ...
    def webhooks(self, project_id: int) -> list[dict]: ...
    def create_webhook(self, body: dict) -> dict: ...
    def update_webhook(self, hook_id: int, body: dict) -> dict: ...


class Ambiguous(ProblemError):
    """A request that may or may not have taken effect (its reply was lost): read back before retrying."""


def _is_jwt(token: str) -> bool:
    """A personal access token (a JWT refresh token) rather than a legacy token."""
    return token.count(".") == 2 and token.startswith("ey")


class Server:
    """One Label Studio server reached with one token, over httpx. `transport` (an httpx transport)
    is for tests that play a server's replies."""

    def __init__(self, url: str, token: str, timeout: float = 60.0, retries: int = 3, backoff: float = 0.5,
                 transport: httpx.BaseTransport | None = None):
        self.url = url
        self.shown = shown(url)  # what messages print: never a password or token
        self.retries = retries
        self.backoff = backoff
        self._token = token
        self._access: str | None = None  # the access token a personal access token is exchanged for
        self.http = httpx.Client(base_url=url.rstrip("/") + "/", timeout=timeout, transport=transport,
                                 headers={"Accept": "application/json"})

    # -- the one place that talks to the network ------------------------------------------

    def _auth(self, fresh: bool = False) -> dict:
        if not _is_jwt(self._token):
            return {"Authorization": f"Token {self._token}"}
        if self._access is None or fresh:
            resp = self.http.post("api/token/refresh", json={"refresh": self._token})
            try:
                self._access = resp.json().get("access") if resp.status_code == 200 else None
            except (ValueError, AttributeError):
                self._access = None
            if not self._access:
                raise self._problem("api/token/refresh", "ls-token-rejected",
                                    f"Label Studio at {self.shown} rejected the personal access token: check {TOKEN_ENV}")
        return {"Authorization": f"Bearer {self._access}"}

    def _problem(self, path: str, slug: str, message: str, kind=ProblemError) -> ProblemError:
        where = shown(f"{self.url.rstrip('/')}/{path.split('?', 1)[0]}")
        return kind(Problem(where, None, "/", slug, message))

    def request(self, what: str, method: str, path: str, *, body=None, params: dict | None = None,
                retry: bool = True) -> httpx.Response:
        """One REST call with the retry policy; the reply (2xx or 3xx), or a ProblemError.

        retry=False is for calls that are not idempotent (an import): a server error, timeout or
        dropped connection then raises Ambiguous at once, since the server may have done the work
        and only the reply was lost; the caller reads the state back before trying again."""
        content = None if body is None else orjson.dumps(body)
        headers = {} if body is None else {"Content-Type": "application/json"}
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                resp = self.http.request(method, path, content=content, params=params, headers=headers | self._auth())
                if resp.status_code == 401 and _is_jwt(self._token) and attempt == 0:
                    resp = self.http.request(method, path, content=content, params=params, headers=headers | self._auth(fresh=True))
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ConnectError) as e:
                if not retry and not isinstance(e, httpx.ConnectError):  # sent, but no reply: it may have taken effect
                    raise self._problem(path, "ls-unreachable", f"Label Studio at {self.shown} did not answer "
                                        f"({type(e).__name__}): {what}", Ambiguous) from None
                if not last:
                    time.sleep(self.backoff * 2**attempt)
                    continue
                if isinstance(e, httpx.ConnectError):
                    raise self._problem(path, "ls-unreachable", f"cannot reach Label Studio at {self.shown}: is it running? "
                                        "(`make label` starts one)") from None
                raise self._problem(path, "ls-unreachable", f"Label Studio at {self.shown} did not answer ({type(e).__name__}) "
                                    f"after {self.retries + 1} tries: {what}") from None
            except httpx.HTTPError as e:
                raise self._problem(path, "ls-unreachable", f"HTTP error talking to {self.shown} ({type(e).__name__}): {what}") from None
            code = resp.status_code
            if (code >= 500 or code == 429) and not retry:
                raise self._problem(path, "ls-server-error", f"Label Studio at {self.shown} answered HTTP {code} to: {what}", Ambiguous)
            if (code >= 500 or code == 429) and not last:
                time.sleep(self.backoff * 2**attempt)
                continue
            if code >= 400:
                raise self._refused(path, what, resp)
            return resp
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _refused(self, path: str, what: str, resp: httpx.Response) -> ProblemError:
        code = resp.status_code
        if code == 401:
            return self._problem(path, "ls-token-rejected", f"Label Studio at {self.shown} rejected the token (401): check {TOKEN_ENV}")
        if code == 403:
            return self._problem(path, "ls-token-rejected", f"the token may not {what} at {self.shown} (403)")
        if code == 404:
            return self._problem(path, "ls-not-found", f"not found at {self.shown} while trying to {what} (404): is this the Label Studio URL?")
        if code >= 500 or code == 429:
            return self._problem(path, "ls-server-error", f"Label Studio at {self.shown} failed to {what} (HTTP {code}) after {self.retries + 1} tries")
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        detail = str(body.get("detail") or body.get("validation_errors") or "") if isinstance(body, dict) else ""
        if isinstance(body, str) and not body.lstrip().startswith("<"):
            detail = body
        detail = " ".join(detail.split())[:300]
        return self._problem(path, "ls-refused", f"Label Studio refused to {what} (HTTP {code}){': ' + detail if detail else ''}")

    def rest(self, what: str, method: str, path: str, body=None, params: dict | None = None, retry: bool = True):
        """One REST call; its JSON answer (None when empty)."""
        resp = self.request(what, method, path, body=body, params=params, retry=retry)
        if not resp.content:
            return None
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise self._not_label_studio(path, what) from None

    def _not_label_studio(self, path: str, what: str) -> ProblemError:
        return self._problem(path, "ls-not-label-studio", f"{self.shown} does not answer like Label Studio: check the URL ({what})")

    def _shaped(self, value, kind: type, path: str, what: str):
        """`value` if it is a `kind`, else the line that says the server is not Label Studio."""
        if not isinstance(value, kind):
            raise self._not_label_studio(path, what)
        return value

    # -- calls -----------------------------------------------------------------------------

    def check(self) -> int:
        """Fail early on a wrong URL or token; returns the token owner's user id."""
        path = "api/current-user/whoami"
        me = self._shaped(self.rest("check the token", "GET", path), dict, path, "check the token")
        return self._shaped(me.get("id"), int, path, "check the token")

    def identity(self) -> str:
        """A name for this server, the same from every machine and every token: 16 hex digits of the
        sha256 of the token owner's organization id and creation time (neither secret nor personal)."""
        me = self._shaped(self.rest("read the organization", "GET", "api/current-user/whoami"), dict,
                          "api/current-user/whoami", "read the organization")
        orgs = self._shaped(self.rest("read the organization", "GET", "api/organizations/"), list,
                            "api/organizations/", "read the organization")
        org = next((o for o in orgs if isinstance(o, dict) and o.get("id") == me.get("active_organization")), None)
        if org is None or not org.get("created_at"):
            raise UserError(f"{self.shown} did not say which organization the token belongs to: cannot name the annotators")
        return hashlib.sha256(f"label-studio-organization:{org['id']}:{org['created_at']}".encode()).hexdigest()[:16]

    def find_project(self, title: str):
        projects, page = [], 1
        while True:
            found = self._shaped(self.rest("list projects", "GET", "api/projects/", params={"title": title, "page_size": 100, "page": page}),
                                 dict, "api/projects/", "list projects")
            projects += [SimpleNamespace(**p) for p in self._shaped(found.get("results"), list, "api/projects/", "list projects")
                         if isinstance(p, dict)]
            if not found.get("next"):
                break
            page += 1
        same = [p for p in projects if getattr(p, "title", None) == title]
        if len(same) > 1:
            raise UserError(f"{len(same)} projects are titled {title!r} at {self.shown}: rename all but one")
        return same[0] if same else None

    def project(self, title: str):
        found = self.find_project(title)
        if found is None:
            raise UserError(f"no project titled {title!r} at {self.shown}: run `raidcorpus push` first")
        return found

    def create_project(self, title: str, config: str, description: str = ""):
        made = self.rest("create the project", "POST", "api/projects/", {"title": title, "label_config": config, "description": description})
        return SimpleNamespace(**self._shaped(made, dict, "api/projects/", "create the project"))

    def update_config(self, project_id: int, config: str) -> None:
        self.rest("update the labelling config", "PATCH", f"api/projects/{project_id}/", {"label_config": config})

    def update_project(self, project_id: int, settings: dict) -> None:
        self.rest("update the project settings", "PATCH", f"api/projects/{project_id}/", settings)

    def invite_token(self) -> str:
        """The organization's invitation token (sign-up link), readable by its members."""
        found = self._shaped(self.rest("read the invitation link", "GET", "api/invite"), dict, "api/invite", "read the invitation link")
        return self._shaped(found.get("token"), str, "api/invite", "read the invitation link")

    def tasks(self, project_id: int) -> list[dict]:
        """Every task's id, data, annotations and predictions, a page of PAGE at a time."""
        out: list[dict] = []
        page = 1
        while True:
            found = self.rest("list tasks", "GET", "api/tasks/", params={"project": project_id, "fields": "all", "page_size": PAGE, "page": page})
            tasks = self._shaped(found.get("tasks") if isinstance(found, dict) else None, list, "api/tasks/", "list tasks")
            out += [t for t in tasks if isinstance(t, dict)]
            total = found.get("total")
            if not tasks or not isinstance(total, int) or len(out) >= total:
                return out
            page += 1

    def import_tasks(self, project_id: int, tasks: list[dict]) -> None:
        self.rest("import tasks", "POST", f"api/projects/{project_id}/import", tasks, params={"return_task_ids": "true"}, retry=False)

    def import_predictions(self, project_id: int, predictions: list[dict]) -> None:
        self.rest("import predictions", "POST", f"api/projects/{project_id}/import/predictions", predictions, retry=False)

    def delete_prediction(self, prediction_id: int) -> None:
        self.rest("delete a prediction", "DELETE", f"api/predictions/{prediction_id}/")

    def export(self, project_id: int) -> bytes:
        """The full JSON export of every task, as the server sends it (JSON_MIN drops relations)."""
        return self.request("export the project", "GET", f"api/projects/{project_id}/export",
                            params={"exportType": "JSON", "download_all_tasks": "true"}).content

    def users(self) -> list[dict]:
        found = self.rest("list users", "GET", "api/users/")
        return [{"id": u.get("id"), "email": u.get("email")} for u in found or () if isinstance(u, dict)]

    def create_annotation(self, task_id: int, result: list[dict]) -> dict:
        made = self.rest("create an annotation", "POST", f"api/tasks/{task_id}/annotations/", {"result": result})
        return self._shaped(made, dict, f"api/tasks/{task_id}/annotations/", "create an annotation")

    def update_annotation(self, annotation_id: int, result: list[dict]) -> dict:
        return self.rest("update an annotation", "PATCH", f"api/annotations/{annotation_id}/", {"result": result})

    def name_user(self, user_id: int, name: str) -> None:
        """Show the account under `name` (its pseudonym) wherever Label Studio would show its address."""
        self.rest(f"name user {user_id}", "PATCH", f"api/users/{user_id}/", {"first_name": name})

    def task(self, task_id: int) -> dict:
        """One task with its data and annotations."""
        return self.rest(f"read task {task_id}", "GET", f"api/tasks/{task_id}/")

    def update_task_data(self, task_id: int, data: dict) -> dict:
        return self.rest(f"update task {task_id}", "PATCH", f"api/tasks/{task_id}/", {"data": data})

    def webhooks(self, project_id: int) -> list[dict]:
        found = self.rest("list webhooks", "GET", "api/webhooks/", params={"project": project_id}) or []
        return [h for h in found if isinstance(h, dict)]

    def create_webhook(self, body: dict) -> dict:
        return self.rest("create a webhook", "POST", "api/webhooks/", body)

    def update_webhook(self, hook_id: int, body: dict) -> dict:
        return self.rest("update a webhook", "PATCH", f"api/webhooks/{hook_id}/", body)

    def signup(self, email: str, password: str) -> str:
        """An annotator account made through the sign-up page (with the organization's invitation
        token); its own API token."""
        return signup(self.url, email, password, invite=self.invite_token())


def signup(url: str, email: str, password: str, timeout: float = 30.0, invite: str | None = None) -> str:
    """Create an annotator account through the sign-up page and return its own API token.

    Label Studio community has no admin API that sets a password or hands out another user's
    token, so the account signs itself up (with the organization's invitation token when sign-up
    without a link is closed) and reads its token.
    """
    page = "/user/signup/" + (f"?token={invite}" if invite else "")
    where = shown(f"{url}/user/signup/")
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
            raise ProblemError(Problem(where, None, "/", "ls-unreachable", f"cannot reach Label Studio at {shown(url)} ({type(e).__name__})")) from None
        if token.status_code != 200:
            raise ProblemError(Problem(where, None, "/", "ls-refused", f"could not sign up or log in the account at {shown(url)} "
                                       f"(HTTP {token.status_code}): wrong password for an existing account?"))
        return token.json()["token"]
