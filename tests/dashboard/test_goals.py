"""Goals and funnels in the dashboard: owners make them on the settings page (bad ones are form
errors), viewers cannot, and the app page shows the Goals panel and the funnel, exact."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from footfall.model import App, User
from tests.dashboard.helpers import PASSWORD, csrf, log_in, metric, send_pageview, visitor
from tests.live import LiveServer


def add_goal(http: httpx.Client, app: App, **fields: str) -> httpx.Response:
    path = f"/apps/{app.id}/settings"
    data = {"action": "create", "csrf": csrf(http, path), **fields}
    return http.post(f"/apps/{app.id}/goals", data=data)


def add_funnel(http: httpx.Client, app: App, name: str, steps: str) -> httpx.Response:
    token = csrf(http, f"/apps/{app.id}/settings")
    data = {"action": "create", "csrf": token, "name": name, "steps": steps}
    return http.post(f"/apps/{app.id}/funnels", data=data)


def goals_panel(html: str) -> list[tuple[str, ...]]:
    m = re.search(r'data-panel="goals">(.*?)</section>', html, re.S)
    assert m, "no goals panel"
    rows = re.findall(r'<tr data-goal="[^"]*">(.*?)</tr>', m.group(1), re.S)
    return [
        tuple(
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        )
        for r in rows
    ]


def funnel_steps(html: str) -> list[tuple[str, ...]]:
    m = re.search(r'id="funnels" data-funnel="[^"]*">(.*?)</section>', html, re.S)
    assert m, "no funnel"
    rows = re.findall(r'<tr class="step"[^>]*>(.*?)</tr>', m.group(1), re.S)
    return [
        tuple(
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        )
        for r in rows
    ]


def test_an_owner_adds_goals_and_funnels_and_sees_their_numbers(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    made = add_goal(owner_http, app, kind="page", page="/pricing")
    assert made.status_code == 303 and made.headers["location"].endswith("#goals")
    paid = add_goal(
        owner_http,
        app,
        kind="event",
        event="Purchase",
        props="plan=pro",
        currency="EUR",
        name="Pro purchase",
    )
    assert paid.status_code == 303
    assert (
        add_funnel(owner_http, app, "Pricing to pro", "/\n/pricing\nPro purchase").status_code
        == 303
    )
    settings = owner_http.get(f"/apps/{app.id}/settings").text
    assert 'data-goal="Visit /pricing"' in settings and "event Purchase · plan = pro" in settings
    assert "Visit / → Visit /pricing → Pro purchase" in settings.replace("&gt;", ">")
    # two visitors: one sees / then /pricing, the other / only; one purchase event by the first
    clock: Any = server.clock  # frozen: each hit a second after the one before, as in life
    with visitor(server) as one:
        send_pageview(one, app.id, "/")
        clock.advance(seconds=1)
        send_pageview(one, app.id, "/pricing")
        clock.advance(seconds=1)
        resp = one.post(
            "/api/event",
            json={
                "app": app.id,
                "event": "Purchase",
                "path": "/pricing",
                "props": {"plan": "pro", "revenue_amount": "49.90", "revenue_currency": "EUR"},
            },
            headers={"User-Agent": one.headers["user-agent"]},
        )
        assert resp.status_code in (200, 202, 204), resp.text
    with visitor(server) as two:
        send_pageview(two, app.id, "/")
    server.flush()
    page = owner_http.get(f"/apps/{app.id}?period=day").text
    assert goals_panel(page) == [
        ("Pro purchase", "1", "1", "50.0%", "€49.90"),
        ("Visit /pricing", "1", "1", "50.0%", "–"),
    ]
    assert funnel_steps(page) == [
        ("1. Visit /", "2", "–", "100.0%"),
        ("2. Visit /pricing", "1", "1 (50.0%)", "50.0%"),
        ("3. Pro purchase", "1", "0 (0.0%)", "50.0%"),
    ]
    # a goal's row filters the page by it; the headline then has the conversion rate
    link = re.search(r'<a href="([^"]*event%3Agoal[^"]*)">Visit /pricing</a>', page)
    assert link
    filtered = owner_http.get(link.group(1).replace("&amp;", "&")).text
    assert "Goal is <b>Visit /pricing</b>" in filtered
    assert metric(filtered, "visitors") == "1" and metric(filtered, "conversion_rate") == "50%"


def test_bad_goals_and_funnels_are_form_errors(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    for fields, reason in (
        ({"kind": "page", "page": ""}, "A goal needs a page"),
        ({"kind": "page", "page": "pricing"}, "A page path starts with /"),
        ({"kind": "page", "page": "/a/***"}, "use * (within a segment)"),
        ({"kind": "event", "event": "x", "currency": "EURO"}, "ISO 4217"),
        ({"kind": "event", "event": "x", "props": "plan"}, "key=value"),
        ({"kind": "event", "event": "x", "name": "/x"}, "may not start with /"),
        ({"kind": "teleport"}, "Choose whether the goal is a page or an event."),
    ):
        resp = add_goal(owner_http, app, **fields)
        assert resp.status_code == 400, fields
        assert 'id="goal-error"' in resp.text and reason in resp.text.replace("&#39;", "'"), fields
    add_goal(owner_http, app, kind="event", event="Signup")
    assert "already" in add_goal(owner_http, app, kind="event", event="Signup").text
    for steps, reason in (
        ("/a", "A funnel has 2 to 8 steps (this one has 1)."),
        ("\n".join(f"/p{n}" for n in range(9)), "(this one has 9)"),
        ("/a\nNope", "No goal named &#39;Nope&#39;"),
        ("/a\n/b c", "no spaces"),
    ):
        resp = add_funnel(owner_http, app, "F", steps)
        assert resp.status_code == 400 and 'id="funnel-error"' in resp.text, steps
        assert reason in resp.text, (steps, resp.text[-3000:])
    resp = add_funnel(owner_http, app, "", "/a\n/b")
    assert resp.status_code == 400 and "A funnel needs a name." in resp.text
    assert server.store.list_funnels(app.id) == []
    add_funnel(owner_http, app, "Join", "/a\nSignup")
    token = csrf(owner_http, f"/apps/{app.id}/settings")
    goal_id = server.store.list_goals(app.id)[0].id
    kept = owner_http.post(
        f"/apps/{app.id}/goals", data={"action": "delete", "goal_id": goal_id, "csrf": token}
    )
    assert kept.status_code == 400 and "delete the funnel first" in kept.text


def test_deleting_goals_and_funnels(server: LiveServer, app: App, owner_http: httpx.Client) -> None:
    add_goal(owner_http, app, kind="page", page="/x")
    add_funnel(owner_http, app, "F", "/x\n/y")
    token = csrf(owner_http, f"/apps/{app.id}/settings")
    funnel_id = server.store.list_funnels(app.id)[0].id
    gone = owner_http.post(
        f"/apps/{app.id}/funnels", data={"action": "delete", "funnel_id": funnel_id, "csrf": token}
    )
    assert gone.status_code == 303 and server.store.list_funnels(app.id) == []
    goal_id = server.store.list_goals(app.id)[0].id
    gone = owner_http.post(
        f"/apps/{app.id}/goals", data={"action": "delete", "goal_id": goal_id, "csrf": token}
    )
    assert gone.status_code == 303 and server.store.list_goals(app.id) == []
    page = owner_http.get(f"/apps/{app.id}").text
    assert 'data-panel="goals"' not in page and 'id="funnels"' not in page  # none: no panel


def test_viewers_and_forged_forms_cannot_change_goals(
    server: LiveServer, app: App, owner_http: httpx.Client, viewer_of: Callable[..., User]
) -> None:
    no_token = owner_http.post(
        f"/apps/{app.id}/goals", data={"action": "create", "kind": "page", "page": "/x"}
    )
    assert no_token.status_code == 403
    viewer = viewer_of(app)
    with httpx.Client(base_url=server.url) as http:
        assert log_in(http, viewer.email, PASSWORD).status_code == 303
        token = csrf(http, "/apps")
        for path, data in (
            ("goals", {"action": "create", "kind": "page", "page": "/x"}),
            ("funnels", {"action": "create", "name": "F", "steps": "/a\n/b"}),
        ):
            resp = http.post(f"/apps/{app.id}/{path}", data={**data, "csrf": token})
            assert resp.status_code == 403 and "Only an owner" in resp.text
    assert server.store.list_goals(app.id) == [] and server.store.list_funnels(app.id) == []


def test_hostile_goal_names_are_shown_as_text(
    server: LiveServer, app: App, owner_http: httpx.Client
) -> None:
    hostile = "<script>alert(1)</script>"
    assert add_goal(owner_http, app, kind="page", page="/x", name=hostile).status_code == 303
    with visitor(server) as one:
        send_pageview(one, app.id, "/x")
    server.flush()
    page: Any = owner_http.get(f"/apps/{app.id}?period=day").text
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
