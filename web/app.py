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

from bot.survey import SurveyService
from bot.texts import deltagare as t
from questionnaires import engine, flow
from questionnaires.flow import FlowState
from questionnaires.model import QuestionnaireError, get
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
NOTE_TEXTS: dict[flow.Note, str] = {
    flow.Note.STALE_BUTTON: w.NOTE_STALE,
    flow.Note.OLD_BUTTON: w.NOTE_STALE,
    flow.Note.FIRST_QUESTION: w.NOTE_FIRST,
    flow.Note.TEXT_MASKED: t.TEXT_MASKED,
    flow.Note.TEXT_CUT: t.TEXT_CUT.format(limit=engine.MAX_TEXT_LENGTH),
    flow.Note.WELCOME_BACK: t.WELCOME_BACK,
}
"""What the machine's notes say on a web page. A redirect passes the codes to the next page
(the URL never holds a sentence); notes that only concern chat messages are not shown."""
PAGE_STAGES = (flow.Stage.QUESTION, flow.Stage.OVERVIEW, flow.Stage.CHOOSING)
"""The stages a web page shows; the others are moved on from when a page is asked for."""


def _notes(effects: Sequence[flow.Effect]) -> list[flow.Note]:
    return [e.note for e in effects if isinstance(e, flow.Say)]


def _codes(raw: str) -> list[flow.Note]:
    out = []
    for code in raw.split(",")[:4]:
        try:
            out.append(flow.Note(code))
        except ValueError:
            continue
    return [n for n in out if n in NOTE_TEXTS]


def parse_form(form: Mapping[str, str]) -> flow.Event | str:
    """Return the event a posted form stands for, or an error code when nothing was picked.

    `fraga` names the page the form was on: a question's id, "oversikt" or "andra"; `action`
    is the button pressed. Whether the event fits where the survey stands is the machine's
    decision, not this parser's.
    """
    page, action = form.get("fraga", ""), form.get("action", "")
    if page == "oversikt":
        events: dict[str, flow.Event] = {
            "skicka": flow.Submit(), "andra": flow.AskChange(), "tillbaka": flow.Back(None),
        }
        return events.get(action, flow.Forged())
    if page == "andra":
        if action == "oversikt":
            return flow.CancelChange()
        if action != "valj":
            return flow.Forged()
        picked = form.get("andra", "")
        return flow.ChangeAnswer(picked) if picked else "pick_question"
    if not page:
        return flow.Forged()
    if action == "hoppa":
        return flow.Skip(page)
    if action == "tillbaka":
        return flow.Back(page)
    if action != "nasta":
        return flow.Forged()
    if "text" in form:
        return flow.Text(form["text"], item=page)
    value = form.get("svar", "")
    return flow.Tap(page, value) if value else "pick_one"


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

    def _load(self, request: Request, token: str) -> tuple[str, FlowState] | None:
        """Return this browser's unfinished web survey of this link, or None."""
        cookie = self._cookie(request)
        if cookie is None:
            return None
        session = self.service.store.get_session(cookie)
        if session is None or session.channel != "web":
            return None
        if not self.service.store.session_opened_with(cookie, hash_token(token)):
            return None
        state = self.service.load_flow(cookie)
        return (cookie, state) if state is not None else None

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
            step = self.service.open_with_link(cookie, token, channel="web")
            if flow.Say(flow.Note.ALREADY_STARTED_OTHER) in step.effects:
                # This cookie belongs to another link's survey: this link gets its own.
                cookie = new_cookie_value()
                step = self.service.open_with_link(cookie, token, channel="web")
        except StorageError:
            step = None  # another browser or chat claimed the link a moment before
        if step is None or step.after is None:
            notes = _notes(step.effects) if step is not None else [flow.Note.LINK_USED]
            if flow.Note.LINK_UNKNOWN in notes:
                self.limiter.missed(self._client(request))
            log.info("event=link_opened channel=web result=%s",
                     notes[0].value if notes else "none")
            check = self.service.store.check_link(token)
            if check.problem == "used" and check.held_by is not None:
                return self._elsewhere(token, check.held_by)
            return self._problem(check.problem or "used")
        state = step.after
        started = any(isinstance(e, flow.StartSession) for e in step.effects)
        log.info("event=link_opened channel=web chat=%s result=%s", self._tag(cookie),
                 "started" if started else "resumed")
        if state.stage is flow.Stage.GREETING:
            # The landing page was the greeting: choosing the browser is Börja.
            self.service.handle(cookie, flow.Begin(), channel="web")
        welcome = "" if started else f"?n={flow.Note.WELCOME_BACK.value}"
        response = RedirectResponse(f"/e/{token}/svar{welcome}", status_code=303)
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
        cookie, state = loaded
        if state.stage not in PAGE_STAGES:
            # Stages the web never enters itself (a greeting not yet left, a pause): on.
            event: flow.Event = flow.Begin() if state.stage is flow.Stage.GREETING \
                else flow.Restart()
            after = self.service.handle(cookie, event, channel="web").after
            if after is None:
                return self._no_session(token)
            state = after
        notes = [NOTE_TEXTS[n] for n in _codes(request.query_params.get("n", ""))]
        item = state.item
        if item is not None and (state.shown is None or state.shown.item != item):
            state = self.service.mark_shown(cookie, state, at=None)
        return self._with_csrf(request, token, lambda f: self._page(token, state, f, notes))

    def _page(self, token: str, state: FlowState, form_token: str, notes: Sequence[str],
              error: str | None = None, status: int = 200, text: str = "") -> Response:
        if state.stage is flow.Stage.CHOOSING:
            return self._change_page(token, state, form_token, error, status)
        if state.item is None:
            return self._overview_page(token, state, form_token, notes)
        return self._question_page(token, state, form_token, notes, error, status, text)

    def _question_page(
        self, token: str, state: FlowState, form_token: str, notes: Sequence[str],
        error: str | None = None, status: int = 200, text: str = "",
    ) -> Response:
        item_id = state.item
        assert item_id is not None
        item = state.q.item(item_id)
        prog = engine.progress(state.q, state.survey)
        header = t.question_header(prog.position, prog.total) if prog else ""
        chosen = None if error else state.survey.answers.get(item.id)
        options = []
        if item.scale is not None:
            options = [
                {"value": o.value, "label": o.label, "checked": o.value == chosen}
                for o in item.scale.options
            ]
        return self.html(
            "question.html", status, title=header, progress=header,
            notes=notes, action=f"/e/{token}/svar", csrf=form_token, item_id=item.id,
            question=item.text, options=options, error=error, error_prefix=w.ERROR_PREFIX,
            text_label=w.FREE_TEXT_LABEL, text_hint=w.FREE_TEXT_HINT,
            text_value=text or ((chosen or "") if item.scale is None else ""),
            max_length=engine.MAX_TEXT_LENGTH, first=flow.is_first_question(state, item.id),
            button_next=w.BUTTON_NEXT, button_skip=t.BUTTON_SKIP, button_back=t.BUTTON_BACK,
        )

    def _lines(self, state: FlowState) -> list[dict[str, str]]:
        return [
            {"item_id": line.item.id, "question": line.item.text,
             "answer": t.overview_answer(line)}
            for line in engine.overview(state.q, state.survey)
        ]

    def _overview_page(
        self, token: str, state: FlowState, form_token: str, notes: Sequence[str]
    ) -> Response:
        return self.html(
            "overview.html", title=t.OVERVIEW_TITLE, notes=notes, lines=self._lines(state),
            footer=w.OVERVIEW_FOOTER, action=f"/e/{token}/svar", csrf=form_token,
            button_submit=t.BUTTON_SUBMIT, button_change=t.BUTTON_CHANGE,
            button_back=t.BUTTON_BACK,
        )

    def _change_page(
        self, token: str, state: FlowState, form_token: str, error: str | None = None,
        status: int = 200,
    ) -> Response:
        return self.html(
            "change.html", status, title=w.CHOOSE_CHANGE, legend=w.CHOOSE_CHANGE,
            hint=w.CHOOSE_CHANGE_HINT, lines=self._lines(state), error=error,
            error_prefix=w.ERROR_PREFIX, action=f"/e/{token}/svar", csrf=form_token,
            button_choose=w.BUTTON_CHANGE_THIS, button_cancel=t.BUTTON_CANCEL_CHANGE,
        )

    async def answer(self, request: Request) -> Response:
        """POST /e/<token>/svar: parse the form into one event, step, then redirect."""
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
        cookie, state = loaded
        if not csrf_ok(self.service.store.keyed_hash, request.cookies.get(CSRF_COOKIE),
                       form.get("csrf")):
            return self.message(w.FORM_EXPIRED_TITLE, [w.FORM_EXPIRED], 403,
                                link=(f"/e/{token}/svar", w.OPEN_LINK_AGAIN))
        here = f"/e/{token}/svar"
        parsed = parse_form(form)
        if isinstance(parsed, str):
            # Nothing picked: not an event at all. The same page, the error tied to the field.
            current = state.item
            if (parsed == "pick_one" and current == form.get("fraga")) or (
                parsed == "pick_question" and state.stage is flow.Stage.CHOOSING
            ):
                error = w.ERROR_PICK_ONE if parsed == "pick_one" else w.ERROR_PICK_QUESTION
                return self._page(token, state, form["csrf"], [], error, 422)
            parsed = flow.Forged()
        if isinstance(parsed, flow.Text) and parsed.item == state.item and (
            state.shown is None or state.shown.item != state.item
        ):
            # The form names the question it was shown with: it was on the screen.
            state = self.service.mark_shown(cookie, state, at=None)
        step = self.service.handle(cookie, parsed, channel="web")
        notes = _notes(step.effects)
        if any(isinstance(e, flow.EndSession) for e in step.effects):
            log.info("event=submitted chat=%s enkat=%s", self._tag(cookie), state.q.id)
            response: Response = RedirectResponse(f"/e/{token}/tack", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path=f"/e/{token}", secure=self.config.https,
                                   httponly=True, samesite="strict")
            return response
        after = step.after
        if flow.Note.EMPTY_TEXT in notes and after is not None:
            return self._page(token, after, form["csrf"], [], t.EMPTY_TEXT, 422)
        if flow.Note.REPEATED_TEXT in notes and after is not None and isinstance(
            parsed, flow.Text
        ):
            # The same words as the answer before: asked once whether it is meant; the text
            # stays in the field, so Nästa again stores it.
            return self._page(token, after, form["csrf"], [w.NOTE_REPEATED], text=parsed.text)
        if flow.Note.STALE_BUTTON in notes:
            log.info("event=stale_form channel=web chat=%s", self._tag(cookie))
        shown = [n for n in notes if n in NOTE_TEXTS]
        query = f"?n={','.join(n.value for n in shown)}" if shown else ""
        return RedirectResponse(here + query, status_code=303)

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
