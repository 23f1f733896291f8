"""The Store contract (footfall.store.base.Store), checked on every registered backend.

A new backend is done when it is registered, has an opener in ``OPENERS`` and passes this file.
Only ``write`` takes dialect SQL here (``PROBE``); everything else goes through the store's own
methods, so the same assertions hold on every engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from footfall.hit_tables import hits_to_table
from footfall.model import (
    ApiKey,
    App,
    Funnel,
    FunnelStep,
    Goal,
    Hit,
    Invite,
    LoginSession,
    User,
)
from footfall.store.base import Store, StoreError, backend_names, open_store

# backend name -> how a test opens a fresh store of it in a directory of its own
OPENERS: dict[str, Callable[[Path], Store]] = {
    "duckdb": lambda directory: open_store(str(directory / "contract.duckdb")),
}
# backend dialect -> statements of a scratch table for ``write`` (create, insert one, fail)
PROBE: dict[str, tuple[str, str, str]] = {
    "duckdb": (
        "CREATE TABLE IF NOT EXISTS contract_probe (n BIGINT NOT NULL)",
        "INSERT INTO contract_probe SELECT n FROM probe_rows",
        "INSERT INTO contract_probe VALUES (NULL)",
    ),
}

APP_A = "00000000-0000-4000-8000-0000000000a1"
APP_B = "00000000-0000-4000-8000-0000000000b2"
T0 = 1_768_046_400_000  # 2026-01-10T12:00:00Z


def test_every_registered_backend_is_checked_here() -> None:
    assert sorted(OPENERS) == backend_names()


@pytest.fixture(params=sorted(OPENERS))
def opener(request: pytest.FixtureRequest) -> Callable[[Path], Store]:
    return OPENERS[request.param]


@pytest.fixture
def store(opener: Callable[[Path], Store], tmp_path: Path) -> Iterator[Store]:
    opened = opener(tmp_path)
    yield opened
    opened.close()


def hit(n: int, app_id: str = APP_A, **fields: object) -> Hit:
    values: dict[str, object] = {
        "hit_id": f"hit-{app_id[-2:]}-{n}",
        "app_id": app_id,
        "ts": T0 + n * 1_000,
        "visitor_id": f"v{n % 3}",
        "session_id": f"s{n % 3}",
        "path": f"/p/{n}",
        "props": {"n": str(n)},
    }
    return msgspec.convert({**values, **fields}, Hit)


def test_a_store_meets_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)
    assert store.backend in backend_names()
    assert store.ping()


# -- events ---------------------------------------------------------------------------------
def test_appended_and_inserted_hits_are_counted_per_app(store: Store) -> None:
    assert store.append_hits([msgspec.structs.astuple(hit(n)) for n in range(3)]) == 3
    assert store.insert_events(hits_to_table([hit(n, APP_B) for n in range(2)])) == 2
    assert store.append_hits([]) == 0
    assert (store.count_events(), store.count_events(APP_A), store.count_events(APP_B)) == (5, 3, 2)
    assert store.count_events("no-such-app") == 0


def test_a_named_batch_is_stored_once_with_its_name(store: Store) -> None:
    rows = [msgspec.structs.astuple(hit(n)) for n in range(3)]
    assert store.append_hits(rows, batch="server-00000000000000000001") == 3
    assert store.loaded_batches(["server-00000000000000000001", "other"]) == {
        "server-00000000000000000001"
    }
    with pytest.raises(Exception):  # noqa: B017 (each engine names its constraint error)
        store.append_hits([msgspec.structs.astuple(hit(9))], batch="server-00000000000000000001")
    assert store.count_events() == 3  # the second append stored nothing
    assert store.loaded_batches([]) == set()
    assert store.forget_loaded_batches(3_600_000) == 0  # recorded now, not an hour ago
    time.sleep(0.01)
    assert store.forget_loaded_batches(1) == 1
    assert store.loaded_batches(["server-00000000000000000001"]) == set()


def test_a_store_reconnects_after_its_connection_is_gone(store: Store) -> None:
    store.append_hits([msgspec.structs.astuple(hit(1))])
    store.close()  # every statement fails now, as after a fault that invalidated the connection
    assert not store.ping()
    store.reopen()
    assert store.ping() and store.count_events() == 1


def test_stored_hit_ids_are_found_within_the_time_range_only(store: Store) -> None:
    store.insert_events(hits_to_table([hit(n) for n in range(5)]))
    asked = ["hit-a1-1", "hit-a1-3", "hit-a1-9", "hit-b2-1"]
    assert store.existing_hit_ids(APP_A, asked, T0, T0 + 10_000) == {"hit-a1-1", "hit-a1-3"}
    assert store.existing_hit_ids(APP_A, asked, T0 + 2_000, T0 + 10_000) == {"hit-a1-3"}
    assert store.existing_hit_ids(APP_B, asked, T0, T0 + 10_000) == set()
    assert store.existing_hit_ids(APP_A, [], T0, T0 + 10_000) == set()


def test_deleting_events_before_a_time_keeps_the_rest_and_other_apps(store: Store) -> None:
    store.insert_events(hits_to_table([hit(n) for n in range(5)] + [hit(0, APP_B)]))
    assert store.delete_events(APP_A, before_ms=T0 + 2_000) == 2
    assert store.count_events(APP_A) == 3
    assert store.delete_events(APP_A) == 3
    assert (store.count_events(APP_A), store.count_events(APP_B)) == (0, 1)


def test_hits_survive_closing_and_opening_again(
    opener: Callable[[Path], Store], tmp_path: Path
) -> None:
    first = opener(tmp_path)
    first.append_hits([msgspec.structs.astuple(hit(n)) for n in range(4)])
    first.settle()
    first.close()
    again = opener(tmp_path)
    try:
        assert again.count_events(APP_A) == 4
    finally:
        again.close()


# -- apps -----------------------------------------------------------------------------------
def test_apps_are_created_read_changed_listed_and_deleted(store: Store) -> None:
    a = App(id=APP_A, name="Blog", url="https://blog.example", created=2, aliases=["G-1"])
    b = App(id=APP_B, name="Shop", created=1, identity="cookieless", retention_days=30)
    store.create_app(a)
    store.create_app(b)
    assert store.get_app(APP_A) == a
    assert [x.id for x in store.list_apps()] == [APP_B, APP_A]  # by creation
    changed = msgspec.structs.replace(a, name="Notes", exclude_paths=["/admin/**"])
    store.save_app(changed)
    assert store.get_app(APP_A) == changed
    assert store.delete_app(APP_A) and not store.delete_app(APP_A)
    assert store.get_app(APP_A) is None and store.list_apps() == [b]


def test_an_app_id_is_taken_once(store: Store) -> None:
    store.create_app(App(id=APP_A, name="Blog"))
    with pytest.raises(StoreError):
        store.create_app(App(id=APP_A, name="Other"))
    assert [x.name for x in store.list_apps()] == ["Blog"]


def test_deleting_an_app_deletes_its_hits_and_keys_only(store: Store) -> None:
    for app_id in (APP_A, APP_B):
        store.create_app(App(id=app_id, name=app_id[-2:]))
        store.insert_events(hits_to_table([hit(n, app_id) for n in range(3)]))
        store.create_api_key(ApiKey(id=f"k{app_id[-2:]}", app_id=app_id), f"hash-{app_id}")
    before = store.generation
    assert store.delete_app(APP_A)
    assert store.generation > before  # caches of derived state are stale now
    assert (store.count_events(APP_A), store.count_events(APP_B)) == (0, 3)
    assert [k.id for k in store.list_api_keys()] == ["kb2"]


# -- goals and funnels ----------------------------------------------------------------------
def test_goals_and_funnels_are_kept_per_app_unique_by_name(store: Store) -> None:
    signup = Goal(id="g1", app_id=APP_A, name="Signup", event="signup", props={"plan": "pro"})
    paid = Goal(
        id="g2",
        app_id=APP_A,
        name="Paid",
        event="paid",
        currency="EUR",
        amount_prop="revenue_amount",
        created=5,
    )
    page = Goal(id="g3", app_id=APP_B, name="Signup", page="/blog/**", created=1)  # other app
    for goal in (paid, signup, page):
        store.create_goal(goal)
    assert store.list_goals(APP_A) == [signup, paid]  # in the order they were made
    assert store.list_goals(APP_B) == [page] and page.kind == "page"
    with pytest.raises(StoreError, match="Signup"):
        store.create_goal(Goal(id="g4", app_id=APP_A, name="Signup", event="other"))
    steps = [FunnelStep(page="/pricing"), FunnelStep(goal="Signup")]
    funnel = Funnel(id="f1", app_id=APP_A, name="Buy", steps=steps, created=3)
    store.create_funnel(funnel)
    assert store.list_funnels(APP_A) == [funnel] and store.list_funnels(APP_B) == []
    with pytest.raises(StoreError):
        store.create_funnel(Funnel(id="f2", app_id=APP_A, name="Buy", steps=steps))
    assert not store.delete_goal(APP_B, "g1")  # another app's id deletes nothing
    assert store.delete_goal(APP_A, "g1") and not store.delete_goal(APP_A, "g1")
    assert store.list_goals(APP_A) == [paid]
    assert store.delete_funnel(APP_A, "f1") and store.list_funnels(APP_A) == []
    store.create_goal(signup)  # the name is free again
    assert [g.name for g in store.list_goals(APP_A)] == ["Signup", "Paid"]


def test_deleting_an_app_deletes_its_goals_and_funnels(store: Store) -> None:
    for app_id in (APP_A, APP_B):
        store.create_app(App(id=app_id, name=app_id[-2:]))
        store.create_goal(Goal(id=f"g{app_id[-2:]}", app_id=app_id, name="Go", event="go"))
        steps = [FunnelStep(page="/a"), FunnelStep(goal="Go")]
        store.create_funnel(Funnel(id=f"f{app_id[-2:]}", app_id=app_id, name="F", steps=steps))
    assert store.delete_app(APP_A)
    assert store.list_goals(APP_A) == [] and store.list_funnels(APP_A) == []
    assert [g.id for g in store.list_goals(APP_B)] == ["gb2"]
    assert [f.id for f in store.list_funnels(APP_B)] == ["fb2"]


# -- accounts -------------------------------------------------------------------------------
def test_users_are_found_by_id_and_email_and_an_email_is_taken_once(store: Store) -> None:
    ann = User(id="u1", email="ann@example.com", password_hash="h1", role="admin", created=1)
    bob = User(id="u2", email="bob@example.com", password_hash="h2", apps=[APP_A], created=2)
    store.create_user(ann)
    store.create_user(bob)
    with pytest.raises(StoreError):
        store.create_user(User(id="u3", email="ann@example.com", password_hash="h3"))
    assert store.get_user("u2") == bob and store.get_user_by_email("ann@example.com") == ann
    assert store.get_user("u3") is None and store.get_user_by_email("x@example.com") is None
    moved = msgspec.structs.replace(bob, role="admin", apps=[])
    store.save_user(moved)
    assert store.list_users() == [ann, moved]


def test_deleting_a_user_ends_their_login_sessions(store: Store) -> None:
    store.create_user(User(id="u1", email="ann@example.com", password_hash="h"))
    store.create_user(User(id="u2", email="bob@example.com", password_hash="h"))
    mine = LoginSession(key="k1", user_id="u1", csrf="c1", created=1, expires=T0)
    theirs = LoginSession(key="k2", user_id="u2", csrf="c2", created=1, expires=T0)
    store.create_login_session(mine)
    store.create_login_session(theirs)
    assert store.get_login_session("k1") == mine
    assert store.delete_user("u1") and not store.delete_user("u1")
    assert store.get_login_session("k1") is None and store.get_login_session("k2") == theirs


def test_login_sessions_end_when_deleted_or_expired(store: Store) -> None:
    for n, expires in enumerate((T0 - 1, T0, T0 + 1)):
        store.create_login_session(
            LoginSession(key=f"k{n}", user_id="u1", csrf="c", created=0, expires=expires)
        )
    assert store.delete_expired_login_sessions(T0) == 2
    assert [store.get_login_session(f"k{n}") is None for n in range(3)] == [True, True, False]
    store.delete_login_session("k2")
    assert store.get_login_session("k2") is None


def test_a_user_keeps_their_two_factor_secret_and_last_step(store: Store) -> None:
    ann = User(id="u1", email="ann@example.com", password_hash="h")
    store.create_user(ann)
    assert store.get_user("u1") == ann and ann.totp_secret is None and ann.totp_step == 0
    on = msgspec.structs.replace(ann, totp_secret="A" * 32, totp_step=56_000_123)
    store.save_user(on)
    assert store.get_user("u1") == on and store.get_user_by_email("ann@example.com") == on
    store.save_user(msgspec.structs.replace(on, totp_secret=None, totp_step=0))
    assert store.get_user("u1") == ann


def test_a_pending_session_is_kept_as_pending_and_a_user_can_end_all_but_one(
    store: Store,
) -> None:
    def session(key: str, user_id: str, pending: bool = False) -> LoginSession:
        return LoginSession(
            key=key, user_id=user_id, csrf="c", created=1, expires=T0, pending=pending
        )

    for s in (
        session("k1", "u1"),
        session("k2", "u1", True),
        session("k3", "u1"),
        session("k4", "u2"),
    ):
        store.create_login_session(s)
    assert store.get_login_session("k2") == session("k2", "u1", True)
    assert store.get_login_session("k1") == session("k1", "u1")
    assert store.end_login_sessions("u1", keep="k3") == 2
    kept = [k for k in ("k1", "k2", "k3", "k4") if store.get_login_session(k) is not None]
    assert kept == ["k3", "k4"]
    assert store.end_login_sessions("u1") == 1 and store.get_login_session("k3") is None


def invite(n: int, email: str = "new@example.com", expires: int = T0) -> Invite:
    return Invite(
        id=f"i{n}",
        key=f"hash{n}",
        email=email,
        role="viewer",
        apps=[APP_A],
        created=n,
        expires=expires,
        invited_by="owner@example.com",
    )


def test_an_invite_is_found_by_its_hash_until_it_expires_and_taken_once(store: Store) -> None:
    first, other = invite(1), invite(2, "other@example.com", expires=T0 + 10)
    store.create_invite(first)
    store.create_invite(other)
    assert store.get_invite("hash1", T0 - 1) == first
    assert store.get_invite("hash1", T0) is None  # expired at its expiry time
    assert store.list_invites(T0 - 1) == [first, other] and store.list_invites(T0) == [other]
    assert store.take_invite("hash1", T0) is None  # expired: not taken
    assert store.take_invite("hash2", T0) == other
    assert store.take_invite("hash2", T0) is None  # once only
    assert store.get_invite("hash2", T0) is None


def test_a_new_invite_of_an_email_replaces_the_old_one_and_invites_can_be_deleted(
    store: Store,
) -> None:
    store.create_invite(invite(1))
    store.create_invite(invite(2))  # the same email
    assert store.get_invite("hash1", 0) is None and store.get_invite("hash2", 0) == invite(2)
    store.create_invite(invite(3, "c@example.com", expires=5))
    assert store.delete_expired_invites(5) == 1 and store.list_invites(0) == [invite(2)]
    assert store.delete_invite("i2") and not store.delete_invite("i2")
    assert store.list_invites(0) == []


def test_recovery_codes_are_used_once_replaced_whole_and_go_with_their_user(
    store: Store,
) -> None:
    store.create_user(User(id="u1", email="ann@example.com", password_hash="h"))
    store.set_recovery_codes("u1", ["c1", "c2", "c3"])
    store.set_recovery_codes("u2", ["c1"])
    assert store.count_recovery_codes("u1") == 3
    assert store.use_recovery_code("u1", "c2") and not store.use_recovery_code("u1", "c2")
    assert not store.use_recovery_code("u1", "nope") and store.count_recovery_codes("u1") == 2
    store.set_recovery_codes("u1", ["d1"])
    assert not store.use_recovery_code("u1", "c1") and store.count_recovery_codes("u1") == 1
    store.delete_user("u1")
    assert store.count_recovery_codes("u1") == 0
    assert store.use_recovery_code("u2", "c1")  # another user's codes are their own
    store.set_recovery_codes("u2", [])
    assert store.count_recovery_codes("u2") == 0


def test_api_keys_are_found_by_hash_until_revoked(store: Store) -> None:
    key = ApiKey(id="abc", app_id=APP_A, name="ci", created=5)
    store.create_api_key(key, "sha-of-secret")
    store.create_api_key(ApiKey(id="all", created=6), "sha-of-other")
    assert store.find_api_key("sha-of-secret") == key
    assert store.find_api_key("sha-of-nothing") is None
    assert store.revoke_api_key("abc", 9) and not store.revoke_api_key("abc", 10)
    assert store.find_api_key("sha-of-secret") is None
    listed = {k.id: k for k in store.list_api_keys()}
    assert (
        listed["abc"].revoked == 9
        and listed["all"].revoked is None
        and listed["all"].app_id is None
    )


def test_a_day_keeps_its_first_salt(store: Store) -> None:
    store.save_salt(20_000, b"\x01" * 16, 1)
    store.save_salt(20_000, b"\x02" * 16, 2)  # another process lost the race: the first stays
    store.save_salt(20_001, b"\x03" * 16, 3)
    assert store.load_salts(20_000) == {20_000: b"\x01" * 16, 20_001: b"\x03" * 16}
    assert store.load_salts(20_001) == {20_001: b"\x03" * 16}
    assert store.delete_salts(20_001) == 1
    assert store.load_salts(0) == {20_001: b"\x03" * 16}


# -- derived tables and reads ---------------------------------------------------------------
def test_a_write_is_all_or_nothing_and_moves_the_generation(store: Store) -> None:
    import pyarrow as pa

    create, insert, failing = PROBE[store.dialect]
    before = store.generation
    rows = pa.table({"n": pa.array([1, 2, 3], pa.int64())})
    store.write([(create, []), (insert, [])], {"probe_rows": rows})
    assert store.generation > before
    count = "SELECT count(*), sum(n) FROM contract_probe"
    assert store.fetch(count) == [(3, 6)]
    with pytest.raises(Exception):  # noqa: B017 - the engine's own error, whatever it is
        store.write([(insert, []), (failing, [])], {"probe_rows": rows})
    assert store.fetch(count) == [(3, 6)]  # the first step of the failed write is undone
    assert store.write([(count, [])]) == [[(3, 6)]]


def test_the_three_reads_give_the_same_answer(store: Store) -> None:
    store.insert_events(hits_to_table([hit(n) for n in range(6)] + [hit(0, APP_B)]))
    sql = "SELECT path, count(*) AS n FROM events WHERE app_id = ? GROUP BY path ORDER BY path"
    rows = store.fetch(sql, [APP_A])
    assert len(rows) == 6 and rows[0] == ("/p/0", 1)
    assert store.answer(sql, [APP_A]) == rows
    table = store.fetch_arrow(sql, [APP_A])
    assert (
        list(zip(table.column("path").to_pylist(), table.column("n").to_pylist(), strict=True))
        == rows
    )
