"""The room engine without a browser: roles, permissions, turns, the log and its replay, the
debrief and the overlay."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridors.analysis.run import summarise
from corridors.app import rooms
from corridors.app.rooms import OBSERVER, RoomError, RoomStore, check_decision, powers_of
from corridors.model import ConflictModel
from corridors.scenarios import load_scenario

AZE, ARM, NK, RUS = "Azerbaijan", "Armenia", "Nagorno-Karabakh", "Russia"


@pytest.fixture
def store(tmp_path):
    s = RoomStore(tmp_path / "rooms")
    yield s
    s.close()


@pytest.fixture
def room(store):
    """A lachin-2023 room with Azerbaijan and Armenia played and one observer."""
    r, teacher = store.open_room("lachin-2023", seed=3, turn_days=7)
    _, aze = r.join("Ana")
    _, arm = r.join("Ben")
    _, obs = r.join("Cy")
    r.pick(aze, AZE)
    r.pick(arm, ARM)
    r.pick(obs, OBSERVER)
    return r, teacher, aze, arm, obs


def test_powers_follow_the_scenario():
    spec = load_scenario("lachin-2023")
    aze = powers_of(spec, AZE)
    assert "lachin" in aze.links  # claims the enclave at its end (and blocked it on record)
    assert NK in aze.offensive_on
    assert aze.embargo_to == ()  # sells no arms
    rus = powers_of(spec, RUS)
    assert "lachin" in rus.links  # controls passage (trilateral statement point 6)
    assert rus.withdraw_from == (NK,)
    assert rus.offensive_on == ()
    assert powers_of(spec, OBSERVER).actions() == []
    assert "btc_pipeline" not in powers_of(spec, ARM).links


def test_a_player_acts_only_for_its_state():
    spec = load_scenario("lachin-2023")
    ok = check_decision(spec, AZE, {"action": "close_link", "link": "lachin"})
    assert ok == {"action": "close_link", "link": "lachin"}
    bad = [
        {"action": "deny_transit", "state": ARM, "to": AZE},  # for another state
        {"action": "close_link", "link": "armenia_georgia_rail"},  # a link it does not control
        {"action": "embargo", "to": ARM},  # sells no arms
        {"action": "order_offensive", "to": "Iran"},  # no claim on Iran
        {"action": "set_parameter", "path": "parameters.x", "value": 1},  # teacher only
        {"action": "throttle_link", "link": "lachin", "fraction": 2},
        {"action": "throttle_link", "link": "lachin", "fraction": float("nan")},
        {"action": "throttle_link", "link": "lachin", "fraction": "0.5"},
        {"action": "deny_transit", "to": ARM, "goods": ["gold"]},
        "close everything",
    ]
    for raw in bad:
        with pytest.raises(RoomError):
            check_decision(spec, AZE, raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.dictionaries(
        st.sampled_from(["action", "link", "state", "to", "fraction", "goods", "order", "path"]),
        st.one_of(
            st.text(max_size=30),
            st.floats(allow_nan=True),
            st.integers(),
            st.none(),
            st.lists(st.text(max_size=8), max_size=4),
            st.sampled_from([AZE, ARM, NK, "lachin", "aghdam", "close_link", "embargo"]),
        ),
        max_size=6,
    )
)
def test_anything_from_a_browser_is_refused_or_a_valid_event_of_the_role(raw):
    spec = load_scenario("lachin-2023")
    try:
        event = check_decision(spec, ARM, raw)
    except RoomError:
        return
    assert event["action"] in rooms.STUDENT_ACTIONS
    assert event.get("state", ARM) == ARM
    powers = powers_of(spec, ARM)
    assert event.get("link") is None or event["link"] in powers.links


def test_roles_tokens_and_teacher_controls(room):
    r, teacher, aze, arm, obs = room
    with pytest.raises(RoomError, match="already played"):
        r.pick(obs, AZE)
    with pytest.raises(RoomError, match="only the teacher"):
        r.advance(aze)
    with pytest.raises(RoomError, match="only the teacher"):
        r.assign(aze, r.participant(arm).pid, AZE)
    with pytest.raises(RoomError, match="not in the room"):
        r.submit("x" * 24, [])
    with pytest.raises(RoomError, match="observers"):
        r.submit(obs, [{"action": "close_link", "link": "lachin"}], "why")
    with pytest.raises(RoomError, match="reason"):
        r.submit(aze, [{"action": "close_link", "link": "lachin"}], "")
    # the teacher's assignment moves a state role from one participant to another
    r.assign(teacher, r.participant(obs).pid, ARM)
    assert r.participant(obs).role == ARM and r.participant(arm).role is None
    # a removed player's token stops working and its pending decisions are dropped
    r.submit(aze, [{"action": "close_link", "link": "lachin"}], "why")
    r.remove(teacher, r.participant(aze).pid)
    assert AZE not in r.pending and r.participant(aze) is None
    with pytest.raises(RoomError, match="not in the room"):
        r.view_for(aze)
    r.settings(teacher, free_pick=False)
    with pytest.raises(RoomError, match="teacher assigns"):
        r.pick(arm, RUS)


def test_a_turn_hides_pending_decisions_then_plays_them(room):
    r, teacher, aze, arm, obs = room
    r.submit(aze, [{"action": "close_link", "link": "lachin"}], "pressure", "The road is ours.")
    assert r.view_for(aze)["submission"]["decisions"][0]["link"] == "lachin"
    arm_view = json.dumps(r.view_for(arm))
    assert "pressure" not in arm_view and "The road is ours" not in arm_view
    assert "pressure" in json.dumps(r.teacher_view()["pending"])
    assert r.teacher_view()["waiting"] == [ARM]
    days = r.advance(teacher)
    assert days == 7 and r.turn == 1 and r.model.steps == 7
    assert r.model.link("lachin").status == "closed"
    arm_view = json.dumps(r.view_for(arm))
    assert "pressure" in arm_view and "The road is ours" in arm_view
    # Azerbaijan is played: its scripted blockade (12 Dec 2022) is left to the player
    r.settings(teacher, turn_days=31)
    for _ in range(3):
        r.advance(teacher)
    assert any(name == "blockade" for name, _, _ in r.left_to_players)
    me = r.view_for(arm)["me"]
    assert me["name"] == ARM and "relations" in me
    assert "me" not in r.view_for(obs)


def test_a_played_claimant_attacks_only_when_ordered(store):
    r, teacher = store.open_room("lachin-2023", seed=1, turn_days=31)
    _, aze = r.join("Ana")
    r.pick(aze, AZE)
    while r.model.running:
        r.advance(teacher)
    assert r.model.combat.wars == []  # the model's own rule would have attacked by September
    auto = ConflictModel("lachin-2023", rng=1)
    while auto.running:
        auto.step()
    assert auto.combat.wars, "the rule attacks in the scenario's own play"
    r2, t2 = store.open_room("lachin-2023", seed=1, turn_days=7)
    _, aze2 = r2.join("Ana")
    r2.pick(aze2, AZE)
    r2.advance(t2)
    r2.submit(aze2, [{"action": "order_offensive", "to": NK, "order": "launch"}], "now")
    r2.advance(t2)
    assert r2.model.combat.wars and r2.model.combat.wars[0].start_date.isoformat() == "2022-12-08"


def play(r, teacher, aze, arm):
    r.submit(aze, [{"action": "throttle_link", "link": "lachin", "fraction": 0.1}], "squeeze")
    r.submit(arm, [{"action": "deny_transit", "to": AZE, "goods": ["arms"]}], "no arms", "Hi")
    r.advance(teacher)
    r.inject(
        teacher,
        {"action": "set_parameter", "path": "parameters.stress_rise_per_day", "value": 0.05},
        "harsh winter",
    )
    r.advance(teacher)
    r.submit(aze, [{"action": "order_offensive", "to": NK, "order": "launch"}], "now")
    r.advance(teacher)
    r.advance(teacher)


def test_a_restart_replays_the_log_to_the_same_state(tmp_path):
    root = tmp_path / "rooms"
    store = RoomStore(root)
    r, teacher = store.open_room("lachin-2023", seed=5, turn_days=7)
    _, aze = r.join("Ana")
    _, arm = r.join("Ben")
    r.pick(aze, AZE)
    r.pick(arm, ARM)
    play(r, teacher, aze, arm)
    r.submit(arm, [], "", "pending at the restart")
    before = (summarise(r.model, 5), r.model.log.to_frame(), r.view_for(arm), r.teacher_view())
    with pytest.raises(RoomError, match="another Corridors server"):
        RoomStore(root)  # one writer at a time
    store.close()
    again = RoomStore(root)
    r2 = again.get(r.code.lower())
    assert r2.turn == 4 and r2.model.steps == 28
    assert summarise(r2.model, 5) == before[0]
    assert r2.model.log.to_frame().equals(before[1])
    view = r2.view_for(arm)  # the token still works: the role is restored
    assert view["role"] == ARM and view["submission"]["statement"] == "pending at the restart"
    for key in ("me", "timeline", "room_timeline", "states", "date"):
        assert view[key] == before[2][key]
    assert r2.teacher_view()["pending"] == before[3]["pending"]
    again.close()


def test_a_log_cut_short_by_a_crash_loses_only_the_unacknowledged_line(tmp_path):
    root = tmp_path / "rooms"
    store = RoomStore(root)
    r, _ = store.open_room("lachin-2023", seed=1)
    r.join("Ana")
    store.close()
    path = root / f"{r.code}.jsonl"
    path.write_text(path.read_text() + '{"op": "join", "pid"')
    again = RoomStore(root)
    assert len(again.get(r.code).participants) == 1 and not again.problems
    again.close()


def test_every_accepted_request_is_on_disk_before_it_counts(room):
    r, teacher, aze, arm, _ = room
    r.submit(aze, [{"action": "close_link", "link": "lachin"}], "why")
    with pytest.raises(RoomError):
        r.submit(arm, [{"action": "close_link", "link": "btc_pipeline"}], "why")
    records = r.log.read()
    assert [x["op"] for x in records] == ["open"] + ["join"] * 3 + ["role"] * 3 + ["submit"]
    assert all(aze not in json.dumps(x) and teacher not in json.dumps(x) for x in records)


def test_the_overlay_replays_the_class_run(store, tmp_path):
    r, teacher = store.open_room("lachin-2023", seed=2, turn_days=7)
    _, aze = r.join("Ana")
    _, arm = r.join("Ben")
    r.pick(aze, AZE)
    r.pick(arm, ARM)
    play(r, teacher, aze, arm)
    r.settings(teacher, turn_days=31)
    while r.model.running:
        r.advance(teacher)
    path = tmp_path / f"room-{r.code}.yaml"
    path.write_text(r.overlay_yaml())
    replay = ConflictModel(path, rng=2)
    while replay.running:
        replay.step()
    ours, theirs = summarise(r.model, 2), summarise(replay, 2)
    for key in ("offensive_date", "capitulation_date", "peak_stress", "shortage_days", "displaced"):
        assert theirs.get(key) == ours.get(key), key


def test_debrief_compares_with_the_record_and_the_model_alone(room):
    r, teacher, aze, *_ = room
    r.submit(aze, [{"action": "close_link", "link": "lachin"}], "pressure")
    r.advance(teacher)
    out = rooms.debrief(r, seeds=3)
    assert out["model"]["seeds"] == 3 and out["model"]["days"] == 7
    assert 0 <= out["model"]["share_same_outcome"] <= 1
    assert out["class"]["outcome"] == "no offensive"
    assert any(row["target"] == "offensive" for row in out["record"])
    rows = out["timeline"]
    assert any("throttle link lachin" in r["record"] for r in rows)  # the record's blockade
    assert any(r["class"] == "Azerbaijan: close link lachin (pressure)" for r in rows)
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    with pytest.raises(RoomError):
        rooms.debrief(r, seeds=10_000)


def test_timer_and_everyone_submitted_play_the_turn(store):
    r, teacher = store.open_room("lachin-2023", seed=1)
    _, aze = r.join("Ana")
    _, arm = r.join("Ben")
    r.pick(aze, AZE)
    r.pick(arm, ARM)
    assert store.tick(r.turn_started + 10_000) == []  # neither set: the teacher advances
    r.settings(teacher, auto_when_all=True, timer_s=60)
    assert store.tick(r.turn_started + 1) == []
    assert store.tick(r.turn_started + 61) == [r.code] and r.turn == 1
    r.submit(aze, [], "")
    assert store.tick(r.turn_started + 1) == []  # Armenia has not submitted
    r.submit(arm, [], "")
    assert store.tick(r.turn_started + 1) == [r.code] and r.turn == 2
    assert [x["by"] for x in r.log.read() if x["op"] == "advance"] == ["timer", "all submitted"]


def test_bad_input_to_the_store(store):
    for code in ("", "abc", "../../etc", "ABCDEF0", None, 12):
        with pytest.raises(RoomError):
            store.get(code)
    with pytest.raises(RoomError):
        store.open_room("/etc/passwd")
    with pytest.raises(RoomError):
        store.open_room("lachin-2023", turn_days=400)
    r, teacher = store.open_room("lachin-2023")
    with pytest.raises(RoomError):
        r.join("x" * 200)
    with pytest.raises(RoomError):
        r.inject(teacher, {"action": "set_parameter", "path": "meta.title", "value": "x"})
    with pytest.raises(RoomError):
        r.inject(teacher, {"action": "close_link", "link": "nowhere"})


# ---------------------------------------------------------------------------- pages, no browser


def text_of(box, walk) -> str:
    out = []
    for w in walk(box):
        for attr in ("value", "children"):
            value = getattr(w, attr, None)
            items = value if isinstance(value, list | tuple) else [value]
            out += [x for x in items if isinstance(x, str)]
    return " ".join(out)


def test_pages_render_the_engine(store, monkeypatch):
    solara = pytest.importorskip("solara")
    from test_app import button, by_class, walk

    from corridors.app import room_page

    monkeypatch.setattr(rooms, "_STORE", store)
    box, rc = solara.render(room_page.RoomsTab(), handle_error=False)
    button(box, "Open a room").click()
    assert len(store.rooms) == 1
    (room,) = store.rooms.values()
    link = by_class(box, "room-teacher-link")[0].attributes["href"]
    assert link.startswith(f"/room?c={room.code}&t=")
    teacher = link.split("&t=")[1]
    assert room.is_teacher(teacher)
    rc.close()

    _, ana = room.join("Ana")
    room.pick(ana, AZE)
    box, rc = solara.render(room_page.StudentView(room, ana), handle_error=False)
    assert "You are Ana, playing Azerbaijan" in text_of(box, walk)
    button(box, "Submit for this turn").click()  # no decision, no reason: allowed
    assert AZE in room.pending
    rc.close()

    box, rc = solara.render(room_page.TeacherView(room, teacher), handle_error=False)
    assert room.code in text_of(box, walk)
    assert "<svg" in "".join(w.unsafe_innerHTML or "" for w in by_class(box, "room-qr"))
    button(box, "Play the turn (7 days)").click()
    assert room.turn == 1 and room.model.steps == 7
    rc.close()
