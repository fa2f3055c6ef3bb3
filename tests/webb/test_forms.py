"""How a posted web form becomes one event of the survey's machine (pure: no server)."""

from __future__ import annotations

import pytest

from questionnaires import flow
from web.app import parse_form

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("form", "event"),
    [
        ({"fraga": "avslut-3", "action": "nasta", "svar": "ofta"}, flow.Tap("avslut-3", "ofta")),
        ({"fraga": "avslut-3", "action": "nasta"}, "pick_one"),
        ({"fraga": "avslut-3", "action": "nasta", "svar": ""}, "pick_one"),
        ({"fraga": "avslut-fritext-1", "action": "nasta", "text": "Hej"},
         flow.Text("Hej", item="avslut-fritext-1")),
        ({"fraga": "avslut-fritext-1", "action": "nasta", "text": ""},
         flow.Text("", item="avslut-fritext-1")),
        ({"fraga": "avslut-3", "action": "hoppa", "svar": "ofta"}, flow.Skip("avslut-3")),
        ({"fraga": "avslut-3", "action": "tillbaka"}, flow.Back("avslut-3")),
        ({"fraga": "oversikt", "action": "tillbaka"}, flow.Back(None)),
        ({"fraga": "oversikt", "action": "skicka"}, flow.Submit()),
        ({"fraga": "oversikt", "action": "andra"}, flow.AskChange()),
        ({"fraga": "andra", "action": "valj", "andra": "avslut-2"},
         flow.ChangeAnswer("avslut-2")),
        ({"fraga": "andra", "action": "valj"}, "pick_question"),
        ({"fraga": "andra", "action": "oversikt"}, flow.CancelChange()),
        ({"fraga": "oversikt", "action": "radera"}, flow.Forged()),
        ({"fraga": "andra", "action": "skicka"}, flow.Forged()),
        ({"fraga": "avslut-3", "action": "skicka"}, flow.Forged()),
        ({"action": "nasta", "svar": "ofta"}, flow.Forged()),
        ({}, flow.Forged()),
    ],
)
def test_a_form_is_one_event(form, event):
    assert parse_form(form) == event
