"""The web survey: the same link, answered in any browser, on the same survey steps as the bot.

Every page is a plain HTML form (no JavaScript). A request is parsed, one survey step is taken
through `SurveyService` (validated by the engine and committed before the reply), and the
state that comes back is rendered; after a POST the browser is redirected to the page showing
where the participant now is, so reloading or the browser's back button never re-posts.

Which unfinished survey a browser has is found by a random cookie whose HMAC is the session
key, exactly as a Telegram chat id is used by the bot; the cookie is deleted at submission.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from bot.survey import Current, SurveyService
from bot.texts import deltagare as t
from questionnaires import engine
from questionnaires.engine import InvalidAnswer
from questionnaires.model import Item, QuestionnaireError, get
from questionnaires.textclean import clean_text
from storage import StorageError, hash_token
from web import texts as w
from web.security import (
    CSRF_COOKIE,
    MAX_BODY,
    SESSION_COOKIE,
    CatchErrors,
    GuessLimiter,
    SecurityHeaders,
    csrf_ok,
    csrf_token,
    looks_like_cookie,
    new_cookie_value,
)

log = logging.getLogger("enkatbot.webb")

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FIELDS = 16
STATIC_DIR = Path(__file__).parent / "static"
NOTES = {"gammal": w.NOTE_STALE, "forsta": w.NOTE_FIRST, "dolt": t.TEXT_MASKED,
         "kortat": t.TEXT_CUT.format(limit=engine.MAX_TEXT_LENGTH)}
"""Notes a redirect may ask the next page to show, by code (the URL never holds a sentence)."""


@dataclass(frozen=True)
class WebConfig:
    """What the web survey needs to know besides the survey service."""

    base_url: str
    """ENKATBOT_WEBB_URL: the public address; https there makes cookies Secure."""
    telegram_link: Callable[[str], str | None]
    """Return the t.me deep link for a token, or None when the bot's name is not known."""
    cookie_days: int = 14
    """How long the browser keeps the survey cookie: as long as an unfinished survey lives."""

    @property
    def https(self) -> bool:
        """Return True when the public address is https (cookies are then Secure)."""
        return self.base_url.startswith("https://")


class _Rejected(Exception):
    """A request body that cannot be taken: the response to send instead."""

    def __init__(self, response: Response) -> None:
        super().__init__("rejected")
        self.response = response


class WebSurvey:
    """The web front end's request handlers over one `SurveyService`."""

    def __init__(
        self, service: SurveyService, config: WebConfig, limiter: GuessLimiter | None = None
    ) -> None:
        """Serve surveys from `service`; `limiter` slows down guessing of link tokens."""
        self.service = service
        self.config = config
        self.limiter = limiter if limiter is not None else GuessLimiter()
        self._tag_key = secrets.token_bytes(32)
        self.env = Environment(
            loader=PackageLoader("web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering ---------------------------------------------------------------------------

    def html(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Return a rendered page."""
        context.setdefault("site", w.SITE_TITLE)
        body = self.env.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status)

    def message(
        self, title: str, paragraphs: Sequence[str], status: int = 200,
        link: tuple[str, str] | None = None,
    ) -> HTMLResponse:
        """Return a page with a heading, some sentences and at most one link."""
        return self.html(
            "message.html", status, title=title, paragraphs=list(paragraphs),
            link_href=link[0] if link else None, link_text=link[1] if link else None,
        )

    async def failed(self, request: Request, exc: Exception) -> Response:
        """Any failure: the kind error page (the exception is logged by CatchErrors)."""
        return self.message(w.ERROR_TITLE, [w.ERROR], 500)

    def error_page(self) -> bytes:
        """Return the page shown when something failed (no details, ever)."""
        return bytes(self.message(w.ERROR_TITLE, [w.ERROR], 500).body)

    def _csrf(self, request: Request) -> tuple[str, str]:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not looks_like_cookie(cookie):
            cookie = new_cookie_value()
        assert cookie is not None
        return cookie, csrf_token(self.service.store.keyed_hash, cookie)

    def _set_cookie(self, response: Response, token: str, name: str, value: str) -> None:
        response.set_cookie(
            name, value, max_age=self.config.cookie_days * 86400, path=f"/e/{token}",
            secure=self.config.https, httponly=True, samesite="strict",
        )

    def _with_csrf(
        self, request: Request, token: str, build: Callable[[str], Response]
    ) -> Response:
        cookie, form_token = self._csrf(request)
        response = build(form_token)
        if request.cookies.get(CSRF_COOKIE) != cookie:
            self._set_cookie(response, token, CSRF_COOKIE, cookie)
        return response

    # -- request parts -----------------------------------------------------------------------

    async def _form(self, request: Request) -> dict[str, str]:
        """Return the posted form's fields (first value of each), or raise _Rejected."""
        too_large = _Rejected(self.message(w.TOO_LARGE_TITLE, [w.TOO_LARGE], 413))
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise too_large
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return {}
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True,
                max_num_fields=MAX_FIELDS,
            )
        except ValueError:
            raise too_large from None
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        return fields

    def _client(self, request: Request) -> str:
        return request.client.host if request.client else "-"

    def _cookie(self, request: Request) -> str | None:
        value = request.cookies.get(SESSION_COOKIE)
        return value if looks_like_cookie(value) else None

    def _load(self, request: Request, token: str) -> tuple[str, Current] | None:
        """Return this browser's unfinished web survey of this link, or None."""
        cookie = self._cookie(request)
        if cookie is None:
            return None
        session = self.service.store.get_session(cookie)
        if session is None or session.channel != "web":
            return None
        if not self.service.store.session_opened_with(cookie, hash_token(token)):
            return None
        cur = self.service.load(cookie)
        return (cookie, cur) if cur is not None else None

    def _tag(self, cookie: str) -> str:
        """Return a short tag for a browser, for log lines: stable within this process only."""
        return hmac.new(self._tag_key, cookie.encode(), hashlib.sha256).hexdigest()[:10]

    # -- pages -------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        """GET /: what this site is, for someone who arrives without a link."""
        return self.message(w.HOME_TITLE, t.NO_LINK.split("\n\n"))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """Any unknown address: a kind page."""
        return self.message(w.NOT_FOUND_TITLE, [w.NOT_FOUND], 404)

    def _problem(self, kind: str) -> Response:
        status = 404 if kind == "unknown" else 410
        return self.message(w.LINK_PROBLEM_TITLE, [t.LINK_PROBLEMS[kind]], status)

    def _elsewhere(self, token: str, held_by: str | None) -> Response:
        if held_by == "telegram":
            href = self.config.telegram_link(token)
            return self.message(
                w.ELSEWHERE_TITLE, [w.ELSEWHERE_TELEGRAM], 409,
                link=(href, w.CONTINUE_IN_TELEGRAM) if href else None,
            )
        return self.message(
            w.ELSEWHERE_TITLE, [w.ELSEWHERE_BROWSER], 409,
            link=(f"/e/{token}", w.OPEN_LINK_AGAIN),
        )

    def _guard_token(self, request: Request, token: str) -> Response | None:
        """Refuse malformed tokens and clients that guess too much; None when all is well."""
        client = self._client(request)
        if not self.limiter.allowed(client):
            log.info("event=web_link_limited")
            return self.message(w.TOO_MANY_TITLE, [w.TOO_MANY], 429)
        if TOKEN_RE.fullmatch(token) is None:
            self.limiter.missed(client)
            return self._problem("unknown")
        return None

    async def landing(self, request: Request) -> Response:
        """GET /e/<token>: greet as the bot does and offer the browser or Telegram."""
        token = request.path_params["token"]
        refused = self._guard_token(request, token)
        if refused is not None:
            return refused
        check = self.service.store.check_link(token)
        if check.problem == "unknown":
            self.limiter.missed(self._client(request))
        held = check.problem == "used" and check.held_by is not None
        if held and check.held_by == "telegram":
            return self._elsewhere(token, check.held_by)
        if check.problem is not None and not held:
            return self._problem(check.problem)
        try:
            q = get(check.enkat or "")
        except QuestionnaireError:
            return self._problem("unknown")
        hello, length = t.greeting_intro(q, len(engine.asked_items(q, {})))

        def build(form_token: str) -> Response:
            return self.html(
                "landing.html", title=w.GREETING_TITLE, hello=hello, length=length,
                points=t.GREETING_POINTS, resume_hint=w.RESUME_HINT if held else None,
                choose=w.CHOOSE_CHANNEL, action=f"/e/{token}", csrf=form_token,
                button_web=w.BUTTON_WEB, web_hint=w.WEB_CHOICE_HINT,
                telegram_href=None if held else self.config.telegram_link(token),
                button_telegram=w.BUTTON_TELEGRAM, telegram_hint=w.TELEGRAM_CHOICE_HINT,
            )

        return self._with_csrf(request, token, build)

    async def start(self, request: Request) -> Response:
        """POST /e/<token>: answer in the browser: start the survey, or continue this one."""
        token = request.path_params["token"]
        refused = self._guard_token(request, token)
        if refused is not None:
            return refused
        try:
            form = await self._form(request)
        except _Rejected as rejected:
            return rejected.response
        if not csrf_ok(self.service.store.keyed_hash, request.cookies.get(CSRF_COOKIE),
                       form.get("csrf")):
            return self.message(w.FORM_EXPIRED_TITLE, [w.FORM_EXPIRED], 403,
                                link=(f"/e/{token}", w.OPEN_LINK_AGAIN))
        cookie = self._cookie(request) or new_cookie_value()
        try:
            opened = self.service.open_link(cookie, token, channel="web")
            if opened.kind == "other_in_progress":
                # This cookie belongs to another link's survey: this link gets its own.
                cookie = new_cookie_value()
                opened = self.service.open_link(cookie, token, channel="web")
        except StorageError:
            opened = None  # another browser or chat claimed the link a moment before
        if opened is None or opened.current is None:
            kind = opened.kind if opened is not None else "used"
            log.info("event=link_opened channel=web result=%s", kind)
            if kind == "unknown":
                self.limiter.missed(self._client(request))
            check = self.service.store.check_link(token)
            if kind in ("used", "elsewhere") and check.held_by is not None:
                return self._elsewhere(token, check.held_by)
            return self._problem(kind if kind in t.LINK_PROBLEMS else "used")
        log.info("event=link_opened channel=web chat=%s result=%s", self._tag(cookie),
                 opened.kind)
        if opened.current.stage != "active":
            self.service.begin(cookie, opened.current)
        response = RedirectResponse(f"/e/{token}/svar", status_code=303)
        self._set_cookie(response, token, SESSION_COOKIE, cookie)
        return response

    def _no_session(self, token: str) -> Response:
        return self.message(w.NO_SESSION_TITLE, [w.NO_SESSION], 403,
                            link=(f"/e/{token}", w.OPEN_LINK_AGAIN))

    async def survey(self, request: Request) -> Response:
        """GET /e/<token>/svar: the page for where this browser's survey stands."""
        token = request.path_params["token"]
        if TOKEN_RE.fullmatch(token) is None:
            return self._problem("unknown")
        loaded = self._load(request, token)
        if loaded is None:
            return self._no_session(token)
        cookie, cur = loaded
        if cur.stage != "active":
            cur = self.service.begin(cookie, cur)
        notes = [NOTES[c] for c in request.query_params.get("n", "").split(",") if c in NOTES]
        if cur.item is None and request.query_params.get("visa") == "andra":
            return self._with_csrf(request, token, lambda f: self._change_page(token, cur, f))
        if cur.item is None:
            return self._with_csrf(
                request, token, lambda f: self._overview_page(token, cur, f, notes)
            )
        return self._with_csrf(
            request, token, lambda f: self._question_page(token, cur, f, notes)
        )

    def _question_page(
        self, token: str, cur: Current, form_token: str, notes: Sequence[str],
        error: str | None = None, status: int = 200,
    ) -> Response:
        item = cur.item
        assert item is not None
        prog = cur.progress
        chosen = None if error else cur.state.answers.get(item.id)
        options = []
        if item.scale is not None:
            options = [
                {"value": o.value, "label": o.label, "checked": o.value == chosen}
                for o in item.scale.options
            ]
        first = engine.applicable_items(cur.q, cur.state.answers)[0].id == item.id
        return self.html(
            "question.html", status,
            title=f"{t.question_header(prog.position, prog.total) if prog else ''}",
            progress=t.question_header(prog.position, prog.total) if prog else "",
            notes=notes, action=f"/e/{token}/svar", csrf=form_token, item_id=item.id,
            question=item.text, options=options, error=error, error_prefix=w.ERROR_PREFIX,
            text_label=w.FREE_TEXT_LABEL, text_hint=w.FREE_TEXT_HINT,
            text_value=(chosen or "") if item.scale is None else "",
            max_length=engine.MAX_TEXT_LENGTH, first=first, button_next=w.BUTTON_NEXT,
            button_skip=t.BUTTON_SKIP, button_back=t.BUTTON_BACK,
        )

    def _lines(self, cur: Current) -> list[dict[str, str]]:
        return [
            {"item_id": line.item.id, "question": line.item.text, "answer": t.overview_answer(line)}
            for line in engine.overview(cur.q, cur.state)
        ]

    def _overview_page(
        self, token: str, cur: Current, form_token: str, notes: Sequence[str]
    ) -> Response:
        return self.html(
            "overview.html", title=t.OVERVIEW_TITLE, notes=notes, lines=self._lines(cur),
            footer=w.OVERVIEW_FOOTER, action=f"/e/{token}/svar", csrf=form_token,
            button_submit=t.BUTTON_SUBMIT, button_change=t.BUTTON_CHANGE,
            button_back=t.BUTTON_BACK,
        )

    def _change_page(
        self, token: str, cur: Current, form_token: str, error: str | None = None,
        status: int = 200,
    ) -> Response:
        return self.html(
            "change.html", status, title=w.CHOOSE_CHANGE, legend=w.CHOOSE_CHANGE,
            hint=w.CHOOSE_CHANGE_HINT, lines=self._lines(cur), error=error,
            error_prefix=w.ERROR_PREFIX, action=f"/e/{token}/svar", csrf=form_token,
            button_choose=w.BUTTON_CHANGE_THIS, button_cancel=t.BUTTON_CANCEL_CHANGE,
        )

    async def answer(self, request: Request) -> Response:
        """POST /e/<token>/svar: one step (answer, skip, back, change, submit), then redirect."""
        token = request.path_params["token"]
        if TOKEN_RE.fullmatch(token) is None:
            return self._problem("unknown")
        try:
            form = await self._form(request)
        except _Rejected as rejected:
            return rejected.response
        loaded = self._load(request, token)
        if loaded is None:
            return self._no_session(token)
        cookie, cur = loaded
        if not csrf_ok(self.service.store.keyed_hash, request.cookies.get(CSRF_COOKIE),
                       form.get("csrf")):
            return self.message(w.FORM_EXPIRED_TITLE, [w.FORM_EXPIRED], 403,
                                link=(f"/e/{token}/svar", w.OPEN_LINK_AGAIN))
        if cur.stage != "active":
            cur = self.service.begin(cookie, cur)
        here = f"/e/{token}/svar"
        posted, action = form.get("fraga", ""), form.get("action", "")
        item = cur.item
        expected = item.id if item is not None else posted
        if posted != expected or (item is None and posted not in ("oversikt", "andra")):
            log.info("event=stale_form channel=web chat=%s", self._tag(cookie))
            return RedirectResponse(f"{here}?n=gammal", status_code=303)
        form_token = form["csrf"]
        if item is not None:
            return self._answer_question(cookie, cur, item, form, form_token, token)
        if posted == "andra":
            if action == "oversikt":
                return RedirectResponse(here, status_code=303)
            if action != "valj":
                return RedirectResponse(f"{here}?n=gammal", status_code=303)
            try:
                self.service.goto(cookie, cur, form.get("andra", ""))
            except InvalidAnswer:
                return self._change_page(token, cur, form_token, w.ERROR_PICK_QUESTION, 422)
            return RedirectResponse(here, status_code=303)
        if action == "skicka":
            self.service.submit(cookie)
            log.info("event=submitted chat=%s enkat=%s", self._tag(cookie), cur.q.id)
            response: Response = RedirectResponse(f"/e/{token}/tack", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path=f"/e/{token}", secure=self.config.https,
                                   httponly=True, samesite="strict")
            return response
        if action == "andra":
            return RedirectResponse(f"{here}?visa=andra", status_code=303)
        if action == "tillbaka":
            self.service.back(cookie, cur)
            return RedirectResponse(here, status_code=303)
        return RedirectResponse(f"{here}?n=gammal", status_code=303)

    def _answer_question(
        self, cookie: str, cur: Current, item: Item, form: Mapping[str, str],
        form_token: str, token: str,
    ) -> Response:
        here = f"/e/{token}/svar"
        action = form.get("action", "")
        if action == "tillbaka":
            before = cur.state.current
            after = self.service.back(cookie, cur)
            note = "?n=forsta" if after.state.current == before else ""
            return RedirectResponse(here + note, status_code=303)
        if action == "hoppa":
            self.service.answer(cookie, cur, None)
            return RedirectResponse(here, status_code=303)
        if action != "nasta":
            return RedirectResponse(f"{here}?n=gammal", status_code=303)
        notes: list[str] = []
        if item.scale is not None:
            value = form.get("svar", "")
            if item.scale.option(value) is None:
                return self._question_page(token, cur, form_token, [], w.ERROR_PICK_ONE, 422)
        else:
            cleaned = clean_text(form.get("text", ""))
            if not cleaned.text:
                return self._question_page(token, cur, form_token, [], t.EMPTY_TEXT, 422)
            value = cleaned.text
            notes += ["dolt"] if cleaned.masked else []
            notes += ["kortat"] if cleaned.truncated else []
        self.service.answer(cookie, cur, value)
        return RedirectResponse(here + (f"?n={','.join(notes)}" if notes else ""),
                                status_code=303)

    async def thanks(self, request: Request) -> Response:
        """GET /e/<token>/tack: the survey is submitted."""
        return self.message(w.THANKS_TITLE, t.THANKS.split("\n\n"))


def server_config(app: ASGIApp) -> uvicorn.Config:
    """Return uvicorn's settings for serving `app` (bind the socket yourself and pass it)."""
    return uvicorn.Config(
        app,
        lifespan="on",
        # No access log: it would hold addresses, and paths with link tokens.
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        # Behind the reverse proxy the client address is only used, in memory, by the
        # token-guessing limiter.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


def create_app(
    service: SurveyService,
    config: WebConfig,
    *,
    routes: Sequence[BaseRoute] = (),
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    limiter: GuessLimiter | None = None,
) -> ASGIApp:
    """Return the web survey as an ASGI app; `routes` are served beside it (the webhook)."""
    web = WebSurvey(service, config, limiter)
    app = Starlette(
        routes=[
            *routes,
            Route("/", web.home, methods=["GET"]),
            Route("/e/{token}", web.landing, methods=["GET"]),
            Route("/e/{token}", web.start, methods=["POST"]),
            Route("/e/{token}/svar", web.survey, methods=["GET"]),
            Route("/e/{token}/svar", web.answer, methods=["POST"]),
            Route("/e/{token}/tack", web.thanks, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        # Starlette answers an exception itself before re-raising it to CatchErrors (which
        # logs it): this makes that answer the kind page.
        exception_handlers={404: web.not_found, 405: web.not_found, Exception: web.failed},
        lifespan=lifespan,
    )
    return SecurityHeaders(CatchErrors(app, web.error_page), https=config.https)


__all__ = ["WebConfig", "WebSurvey", "create_app", "server_config"]
