"""HTTP-level tests of the web survey: bad input, CSRF, headers, cookies, the guessing limiter.

A real uvicorn server on loopback and a real SQLite file; requests are made as a browser
would (form posts, cookies), and every check ends in what the database holds.
"""

from __future__ import annotations

import socket
from contextlib import closing

import pytest

from bot.survey import Step, SurveyService
from bot.texts import deltagare as t
from questionnaires import flow
from storage import Store, hash_token
from tests.webb.tools import (
    InProcessWeb,
    csrf_of,
    field_of,
    post_step,
    start_in_browser,
)
from web import texts as w
from web.security import CSP, MAX_BODY, GuessLimiter

pytestmark = pytest.mark.web


def _session_answers(web: InProcessWeb, client) -> dict | None:
    cookie = client.cookies.get("enkat")
    with closing(Store(web.db_path)) as store:
        session = store.get_session(cookie) if cookie else None
        return dict(session.answers) if session else None


def _uses_left(web: InProcessWeb, token: str) -> int:
    with closing(Store(web.db_path)) as store:
        rows = list(store.db.query("SELECT uses_left FROM link WHERE token_hash = ?",
                                   [hash_token(token)]))
    return rows[0]["uses_left"]


def _sessions(web: InProcessWeb) -> int:
    with closing(Store(web.db_path)) as store:
        return store.db.execute("SELECT count(*) FROM session").fetchone()[0]


def test_every_response_carries_the_security_headers_and_a_strict_cookie(web):
    token = web.link()
    with web.client() as c:
        landing = c.get(f"/e/{token}")
        first = start_in_browser(c, token)
        css = c.get("/static/enkat.css")
        missing = c.get("/finns/inte")
        for r in (landing, first, css, missing, c.get("/")):
            assert r.headers["content-security-policy"] == CSP
            assert "script-src" not in CSP and "'unsafe-inline'" not in CSP
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["x-frame-options"] == "DENY"
            assert "server" not in r.headers
        assert landing.headers["cache-control"] == "no-store"
        assert first.headers["cache-control"] == "no-store"
        assert missing.status_code == 404 and w.NOT_FOUND in missing.text
        assert "strict-transport-security" not in landing.headers
    start = c  # the redirect after choosing the browser set the session cookie
    cookies = [h for h in start.cookies.jar]
    assert {ck.name for ck in cookies} == {"enkat", "enkat_csrf"}
    for ck in cookies:
        assert ck.path == f"/e/{token}"
        assert ck.has_nonstandard_attr("HttpOnly")
        assert ck.get_nonstandard_attr("SameSite").lower() == "strict"
        assert not ck.secure  # plain http here; https below


def test_cookies_are_secure_and_hsts_is_sent_when_the_public_address_is_https(db_path):
    with InProcessWeb(db_path, base_url="https://enkat.exempel.se") as web:
        token = web.link()
        with web.client() as c:
            landing = c.get(f"/e/{token}")
            assert "Secure" in landing.headers["set-cookie"]
            assert landing.headers["strict-transport-security"].startswith("max-age=")
            # httpx keeps Secure cookies from plain http: hand the CSRF cookie over as is.
            csrf_cookie = landing.cookies["enkat_csrf"]
            c.cookies.clear()
            c.cookies.set("enkat_csrf", csrf_cookie)
            started = c.post(f"/e/{token}", data={"csrf": csrf_of(landing.text)})
            assert started.status_code == 303
            set_cookie = started.headers["set-cookie"]
            assert "enkat=" in set_cookie and "Secure" in set_cookie
            assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie


def test_unknown_used_expired_and_withdrawn_links_each_get_their_sentence(web):
    used, expired, withdrawn = web.link(), web.link(), web.link()
    with closing(Store(web.db_path)) as store:
        store.db.execute("UPDATE link SET uses_left = 0 WHERE token_hash = ?", [hash_token(used)])
        store.db.execute("UPDATE link SET expires = '2000-01-01T00:00:00+00:00' "
                         "WHERE token_hash = ?", [hash_token(expired)])
        assert store.withdraw_link(withdrawn)
    cases = [
        ("NyaLankenSomInteFinns123", 404, t.LINK_UNKNOWN),
        ("<img src=x onerror=alert(1)>", 404, t.LINK_UNKNOWN),
        ("x" * 300, 404, t.LINK_UNKNOWN),
        (used, 410, t.LINK_USED),
        (expired, 410, t.LINK_EXPIRED),
        (withdrawn, 410, t.LINK_WITHDRAWN),
    ]
    with web.client() as c:
        for token, status, sentence in cases:
            r = c.get(f"/e/{token}")
            assert r.status_code == status, (token, r.text)
            assert sentence in r.text
            assert "<img" not in r.text and "Traceback" not in r.text
            assert w.BUTTON_WEB not in r.text
        # Posting to a dead link starts nothing either.
        landing = c.get(f"/e/{web.link()}")
        r = c.post(f"/e/{expired}", data={"csrf": csrf_of(landing.text)})
        assert r.status_code in (403, 410)
    assert _sessions(web) == 0


def test_every_form_needs_its_csrf_token(web):
    token = web.link()
    with web.client() as c:
        landing = c.get(f"/e/{token}")
        for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": csrf_of(landing.text) + "x"}):
            r = c.post(f"/e/{token}", data={**data, "action": "webb"})
            assert r.status_code == 403 and w.FORM_EXPIRED in r.text
        assert _sessions(web) == 0 and _uses_left(web, token) == 1

        page = start_in_browser(c, token).text
        assert _uses_left(web, token) == 0
        for csrf in ("", "fel", "0" * 64):
            r = c.post(f"/e/{token}/svar", data={"csrf": csrf, "fraga": field_of(page, "fraga"),
                                                 "svar": "kvinna", "action": "nasta"})
            assert r.status_code == 403 and w.FORM_EXPIRED in r.text
        assert _session_answers(web, c) == {}

        # Another browser's valid token does not fit this browser's cookie.
        other = web.client()
        other_landing = other.get(f"/e/{web.link()}")
        r = c.post(f"/e/{token}/svar", data={"csrf": csrf_of(other_landing.text),
                                             "fraga": field_of(page, "fraga"), "svar": "kvinna",
                                             "action": "nasta"})
        assert r.status_code == 403
        other.close()
        assert _session_answers(web, c) == {}
        r = post_step(c, token, page, svar="kvinna", action="nasta")
        assert r.status_code == 303
        assert _session_answers(web, c) == {"avslut-kon": "kvinna"}


def test_a_post_for_another_question_than_the_current_changes_nothing(web):
    token = web.link()
    with web.client() as c:
        q1 = start_in_browser(c, token).text
        assert post_step(c, token, q1, svar="man", action="nasta").status_code == 303
        q2 = c.get(f"/e/{token}/svar").text
        assert "Fråga 2 av 14" in q2
        # The browser's back button shows the old page; posting it again (or from a second
        # tab, or a forged form) must not overwrite or store anything.
        stale = post_step(c, token, q1, svar="kvinna", action="nasta")
        assert stale.status_code == 303 and stale.headers["location"].endswith("?n=stale_button")
        shown = c.get(stale.headers["location"]).text
        assert "Fråga 2 av 14" in shown and w.NOTE_STALE in shown
        forged = c.post(f"/e/{token}/svar", data={"csrf": csrf_of(q2), "fraga": "avslut-9",
                                                  "svar": "alltid", "action": "nasta"})
        assert forged.status_code == 303 and forged.headers["location"].endswith("?n=stale_button")
        assert _session_answers(web, c) == {"avslut-kon": "man"}

        # An option the question does not have: a forged form, treated as a stale page.
        r = post_step(c, token, q2, svar="kanske", action="nasta")
        assert r.headers["location"].endswith("?n=stale_button")
        # No option at all: the question again, with an error tied to the field.
        for data in ({"svar": ""}, {}):
            r = post_step(c, token, q2, action="nasta", **data)
            assert r.status_code == 422
            assert w.ERROR_PICK_ONE in r.text and 'aria-describedby="fel"' in r.text
            assert "Fråga 2 av 14" in r.text and "checked" not in r.text
        # An unknown button is treated as a stale page, too.
        r = post_step(c, token, q2, svar="alltid", action="radera_allt")
        assert r.headers["location"].endswith("?n=stale_button")
        assert _session_answers(web, c) == {"avslut-kon": "man"}


def test_huge_and_empty_posts_are_refused_kindly_and_store_nothing(web):
    token = web.link("deltagare-pagaende")
    with web.client() as c:
        page = start_in_browser(c, token).text
        huge = post_step(c, token, page, svar="kvinna", action="nasta", pad="x" * (MAX_BODY + 1))
        assert huge.status_code == 413 and w.TOO_LARGE in huge.text
        # A declared length too large is refused before the body is read.
        with socket.create_connection(("127.0.0.1", web.port), timeout=20) as raw:
            raw.sendall(
                f"POST /e/{token}/svar HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n\r\ncsrf=x".encode()
            )
            assert raw.recv(100).startswith(b"HTTP/1.1 413 ")
        many = c.post(f"/e/{token}/svar", content="&".join(f"f{i}=1" for i in range(50)),
                      headers={"content-type": "application/x-www-form-urlencoded"})
        assert many.status_code == 413
        empty = c.post(f"/e/{token}/svar", content=b"")
        assert empty.status_code == 403 and w.FORM_EXPIRED in empty.text
        assert _session_answers(web, c) == {}

        # Walk to the first free-text question; an empty or blank text is not an answer.
        page = c.get(f"/e/{token}/svar").text
        for _ in range(8):
            assert post_step(c, token, page, action="hoppa").status_code == 303
            page = c.get(f"/e/{token}/svar").text
        assert "<textarea" in page
        for blank in ("", "   \n\t "):
            r = post_step(c, token, page, text=blank, action="nasta")
            assert r.status_code == 422 and t.EMPTY_TEXT in r.text
            assert 'aria-invalid="true"' in r.text
        long_text = "Mitt nummer är 070-123 45 67. " + "bra " * 600
        r = post_step(c, token, page, text=long_text, action="nasta")
        assert r.status_code == 303
        note = c.get(r.headers["location"]).text
        assert t.TEXT_MASKED in note and t.TEXT_CUT.format(limit=1000) in note
        stored = _session_answers(web, c)["pagaende-fritext-1"]
        assert "070" not in stored and len(stored) <= 1000


def test_a_missing_cookie_mid_survey_says_what_to_do(web):
    token = web.link()
    with web.client() as c:
        page = start_in_browser(c, token).text
        assert post_step(c, token, page, svar="kvinna", action="nasta").status_code == 303
        csrf_cookie = c.cookies["enkat_csrf"]
    with web.client() as fresh:
        responses = [fresh.get(f"/e/{token}/svar")]
        fresh.cookies.set("enkat_csrf", csrf_cookie)
        responses.append(
            fresh.post(f"/e/{token}/svar", data={"csrf": csrf_of(page), "svar": "man"})
        )
        fresh.cookies.set("enkat", "A" * 43)
        responses.append(fresh.get(f"/e/{token}/svar"))
        fresh.cookies.clear()
        for r in responses:
            assert r.status_code == 403
            assert w.NO_SESSION in r.text and f'href="/e/{token}"' in r.text
        # Opening the link again in a browser without the cookie: it is under way elsewhere.
        landing = fresh.get(f"/e/{token}")
        assert landing.status_code == 200 and w.RESUME_HINT in landing.text
        r = fresh.post(f"/e/{token}", data={"csrf": csrf_of(landing.text)})
        assert r.status_code == 409 and w.ELSEWHERE_BROWSER in r.text
    assert _sessions(web) == 1


def _notes(step: Step) -> list[flow.Note]:
    return [effect.note for effect in step.effects if isinstance(effect, flow.Say)]


def test_whichever_channel_starts_the_survey_owns_it(web):
    telegram_first, web_first = web.link(), web.link()
    telegram = SurveyService(web.store)
    opened = telegram.open_with_link(4242, telegram_first)
    assert opened.after is not None and opened.after.stage is flow.Stage.GREETING
    with web.client() as c:
        landing = c.get(f"/e/{telegram_first}")
        assert landing.status_code == 409 and w.ELSEWHERE_TELEGRAM in landing.text
        assert f"https://t.me/finsam_test_bot?start={telegram_first}" in landing.text
        assert w.BUTTON_WEB not in landing.text

        start_in_browser(c, web_first)
    assert _notes(telegram.open_with_link(4343, web_first)) == [flow.Note.LINK_ELSEWHERE]
    assert t.LINK_PROBLEMS["elsewhere"] == t.LINK_ELSEWHERE
    # Once submitted, the link is simply used, for both.
    with closing(Store(web.db_path)) as store:
        assert store.finish_session(c.cookies["enkat"])
    assert _notes(telegram.open_with_link(4343, web_first)) == [flow.Note.LINK_USED]


def test_guessing_tokens_is_slowed_and_valid_links_still_work_afterwards(db_path):
    now = [1000.0]
    limiter = GuessLimiter(capacity=3, refill_per_second=0.5, clock=lambda: now[0])
    with InProcessWeb(db_path, limiter=limiter) as web:
        token = web.link()
        with web.client() as c:
            for n in range(3):
                assert c.get(f"/e/gissning{n}").status_code == 404
            limited = c.get(f"/e/{token}")
            assert limited.status_code == 429 and w.TOO_MANY in limited.text
            # Another client (by its forwarded address from the proxy) is not affected.
            other = c.get(f"/e/{token}", headers={"x-forwarded-for": "198.51.100.9"})
            assert other.status_code == 200
            now[0] += 2.0  # one token back
            assert c.get(f"/e/{token}").status_code == 200


def test_the_limiter_stays_bounded_and_keeps_no_address():
    limiter = GuessLimiter(capacity=1, max_clients=100, clock=lambda: 0.0)
    for n in range(1000):
        limiter.missed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    assert not limiter.allowed("10.0.3.231")  # among the newest: remembered, still empty
    assert limiter.allowed("10.0.0.1")  # the oldest were forgotten first
    assert all(b"10.0." not in key for key in limiter._buckets)


@pytest.mark.parametrize("path", ["/e/abc/svar", "/e/abc/tack", "/", "/static/enkat.css"])
def test_pages_are_small(web, path):
    with web.client() as c:
        r = c.get(path)
        assert len(r.content) < 30_000


def test_a_failure_is_a_kind_page_and_one_log_line_without_details(db_path, caplog):
    with InProcessWeb(db_path) as web:
        token = web.link()
        with web.client() as c:
            assert c.get(f"/e/{token}").status_code == 200
            web.store.db.conn.close()  # the database goes away under the running server
            caplog.clear()
            with caplog.at_level("INFO"):
                r = c.get(f"/e/{token}")
        web.store = Store(db_path)  # for the fixture's close
    assert r.status_code == 500
    assert w.ERROR in r.text and "Traceback" not in r.text and "sqlite" not in r.text.lower()
    assert r.headers["content-security-policy"] == CSP
    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("enkatbot")]
    assert lines == ["event=web_error error=ProgrammingError"]
    server = [rec for rec in caplog.records if not rec.name.startswith("httpx")]  # not the client
    assert all(rec.exc_info is None for rec in server)
    assert not [rec for rec in server if token in rec.getMessage()]
def test_the_same_words_twice_are_asked_about_once_then_stored(web):
    token = web.link("deltagare-pagaende")
    with web.client() as c:
        page = start_in_browser(c, token).text
        for _ in range(8):
            assert post_step(c, token, page, action="hoppa").status_code == 303
            page = c.get(f"/e/{token}/svar").text
        assert post_step(c, token, page, text="Vet inte riktigt.", action="nasta").status_code \
            == 303
        page = c.get(f"/e/{token}/svar").text
        asked = post_step(c, token, page, text="Vet inte riktigt.", action="nasta")
        assert asked.status_code == 200 and w.NOTE_REPEATED in asked.text
        assert ">Vet inte riktigt.</textarea>" in asked.text  # nothing to type again
        assert "pagaende-fritext-2" not in _session_answers(web, c)
        again = post_step(c, token, asked.text, text="Vet inte riktigt.", action="nasta")
        assert again.status_code == 303
        answers = _session_answers(web, c)
        assert answers["pagaende-fritext-1"] == answers["pagaende-fritext-2"] == \
            "Vet inte riktigt."
