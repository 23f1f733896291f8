"""`footfall goals` and `footfall funnels`, and `footfall stats --by goal`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from footfall.clock import SystemClock
from footfall.hit_tables import hits_to_table
from footfall.model import Hit, new_uuid
from footfall.store import open_store
from tests.test_durability import footfall

HOUR = 3_600_000


def seeded(tmp_path: Path) -> str:
    """An app "Shop" with 3 visitors in the last day: v1 and v2 go / → /pricing → signup (v2
    paying EUR 20 with it, in another visit for v1), v3 sees / only."""
    db = str(tmp_path / "f.duckdb")
    app_id = footfall("apps", "create", "Shop", "--db", db).stdout.split()[0]
    now = SystemClock().now_ms()
    plan = [
        ("v1", "s1", "/", "pageview", None),
        ("v1", "s1", "/pricing", "pageview", None),
        ("v1", "s2", "/signup", "signup", None),
        ("v2", "s3", "/", "pageview", None),
        ("v2", "s3", "/pricing", "pageview", None),
        ("v2", "s3", "/signup", "signup", {"revenue_amount": "20", "revenue_currency": "EUR"}),
        ("v3", "s4", "/", "pageview", None),
    ]
    hits = [
        Hit(
            hit_id=new_uuid(),
            app_id=app_id,
            ts=now - 5 * HOUR + n * 60_000,
            visitor_id=v,
            session_id=s,
            path=p,
            event=e,
            props=props,
        )
        for n, (v, s, p, e, props) in enumerate(plan)
    ]
    store = open_store(db)
    store.insert_events(hits_to_table(hits))
    store.close()
    return db


def test_goals_are_added_listed_used_and_deleted(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    page = footfall("goals", "add", "Shop", "--page", "/pricing", "--db", db)
    assert page.returncode == 0 and "added goal 'Visit /pricing'" in page.stdout, page.stderr
    paid = footfall(
        "goals",
        "add",
        "Shop",
        "--event",
        "signup",
        "--name",
        "Signup",
        "--currency",
        "eur",
        "--db",
        db,
    )
    assert paid.returncode == 0, paid.stderr
    listing = footfall("goals", "list", "Shop", "--db", db).stdout
    assert "Visit /pricing  pageview /pricing" in listing
    assert "Signup          event signup  (revenue: EUR from revenue_amount)" in listing
    by_goal = footfall("stats", "Shop", "--by", "goal", "--json", "--db", db)
    assert by_goal.returncode == 0, by_goal.stderr
    rows = json.loads(by_goal.stdout)["results"]
    assert [(r["goal"], r["visitors"], r["events"], r["conversion_rate"]) for r in rows] == [
        ("Signup", 2, 2, 66.67),
        ("Visit /pricing", 2, 2, 66.67),
    ]
    assert rows[0]["total_revenue"]["value"] == 20.0 and rows[1]["total_revenue"] is None
    text = footfall("stats", "Shop", "--by", "goal", "--db", db).stdout
    assert "conversion_rate" in text and "€20.00" in text
    filtered = footfall("stats", "Shop", "--filter", "event:goal==Signup", "--json", "--db", db)
    assert json.loads(filtered.stdout)["results"]["visitors"] == {"value": 2}
    assert footfall("goals", "delete", "Shop", "Signup", "--db", db).returncode == 0
    assert "Signup" not in footfall("goals", "list", "Shop", "--db", db).stdout


def test_funnels_are_added_shown_and_deleted(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    footfall("goals", "add", "Shop", "--event", "signup", "--db", db)
    made = footfall(
        "funnels",
        "add",
        "Shop",
        "Join",
        "--step",
        "/",
        "--step",
        "/pricing",
        "--step",
        "signup",
        "--db",
        db,
    )
    assert made.returncode == 0 and "Visit / → Visit /pricing → signup" in made.stdout, made.stderr
    shown = footfall("funnels", "show", "Shop", "Join", "--period", "7d", "--json", "--db", db)
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    # v1 signed up in another visit: only v2's visit took all three steps
    assert [s["visitors"] for s in result["steps"]] == [3, 2, 1]
    assert result["steps"][2]["dropoff"] == 1 and result["steps"][2]["dropoff_percentage"] == 50
    text = footfall("funnels", "show", "Shop", "Join", "--db", db).stdout
    assert "3 of 3 visitors entered (100%)" in text and "1 (50%)" in text
    assert (
        "Join  Visit / → Visit /pricing → signup"
        in footfall("funnels", "list", "Shop", "--db", db).stdout
    )
    kept = footfall("goals", "delete", "Shop", "signup", "--db", db)
    assert kept.returncode != 0 and "step of the funnel 'Join'" in kept.stderr
    assert footfall("funnels", "delete", "Shop", "Join", "--db", db).returncode == 0
    assert "no funnels yet" in footfall("funnels", "list", "Shop", "--db", db).stdout


def test_bad_goals_and_funnels_are_refused_with_a_reason(tmp_path: Path) -> None:
    db = str(tmp_path / "f.duckdb")
    footfall("apps", "create", "Shop", "--db", db)
    cases = [
        (["goals", "add", "Shop", "--name", "", "--event", ""], "needs a page"),
        (["goals", "add", "Shop", "--page", "pricing"], "starts with /"),
        (["goals", "add", "Shop", "--page", "/a/***"], "use * (within a segment)"),
        (["goals", "add", "Shop", "--event", "x", "--prop", "plan"], "key=value"),
        (["funnels", "add", "Shop", "F", "--step", "/a"], "2 to 8 steps"),
        (["funnels", "add", "Shop", "F", *[f"--step=/p{n}" for n in range(9)]], "has 9"),
        (["funnels", "add", "Shop", "F", "--step", "/a", "--step", "Nope"], "no goal named 'Nope'"),
        (["funnels", "show", "Shop", "Nope"], "no funnel 'Nope'"),
        (["stats", "Shop", "--filter", "event:goal==Nope"], "no goal named 'Nope'"),
    ]
    for args, message in cases:
        out = footfall(*args, "--db", db)
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
