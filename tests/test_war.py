"""War, arms and money: the chain from arms flows and a blockade to a fall, and breaking it."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import yaml

from corridors import ConflictModel, ScenarioError, load_scenario, run_scenario
from corridors.model.decisions import Situation, bargaining_rule, threshold_rule
from corridors.scenarios.schema import Claim

SEEDS = range(1, 7)
NK = "Nagorno-Karabakh"


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@pytest.fixture(scope="module")
def base_runs():
    return {s: run_scenario("lachin-2023", seed=s, record_flows=False) for s in SEEDS}


def _variant_runs(name: str):
    return {
        s: run_scenario("lachin-2023", seed=s, variants=[name], record_flows=False) for s in SEEDS
    }


# --------------------------------------------------------------------------- the default story


def test_default_blockade_leads_to_offensive_capitulation_and_exodus(base_runs):
    fell = 0
    for result in base_runs.values():
        s = result.summary
        offensive, capitulation = _date(s["offensive_date"]), _date(s["capitulation_date"])
        if offensive is None:
            continue
        assert offensive >= dt.date(2023, 6, 1), "an offensive only after months of blockade"
        assert capitulation is not None and (capitulation - offensive).days <= 2
        assert s["days_of_fighting"] <= 2
        if capitulation <= dt.date(2023, 10, 1):
            fell += 1
            assert s["displaced_share"] > 0.8, "nearly all the population flees"
            assert s["arrived"] > 90_000
    assert fell >= len(SEEDS) // 2


def test_event_log_explains_each_step_with_numbers(base_runs):
    events = next(r.events for r in base_runs.values() if r.summary["offensive_date"])
    by_kind = {k: list(g.message) for k, g in events.groupby("kind")}
    (offensive,) = by_kind["offensive"]
    assert "force ratio" in offensive and "threshold" in offensive
    assert "deterrence" in offensive and "resolve" in offensive
    (capitulation,) = by_kind["capitulation"]
    assert "readiness" in capitulation or "personnel" in capitulation
    assert any("Azerbaijan buys arms" in m for m in by_kind["procurement"])
    assert any("credibility" in m for m in by_kind["guarantee"])
    assert any("want to leave" in m for m in by_kind["displacement"])
    assert any("Zangezur" in m for m in by_kind["demand"])
    assert any("Iran" in m for m in by_kind["tension"])


def test_summary_has_the_war_outcomes(base_runs):
    s = base_runs[1].summary
    for key in (
        "offensive_date",
        "capitulation_date",
        "days_of_fighting",
        "displaced",
        "displaced_share",
        "shortage_days",
        "arms_delivered_t",
        "energy_delivered",
    ):
        assert key in s
    assert s["arms_delivered_by_supplier.Israel"] > 0
    assert any(
        k.startswith("arms_delivered_by_route.Israel") and "israel_azerbaijan_air" in k for k in s
    )
    assert s["energy_delivered.Israel"] > 0
    assert s["peak_tension.Iran->Azerbaijan"] > 0
    assert 0 < s["guarantor_credibility.Russia->Nagorno-Karabakh"] < 1
    # Israel the main supplier of Azerbaijan, as in SIPRI's 2015–19 figures
    israel = s["arms_delivered_by_supplier.Israel"]
    assert israel > 0.4 * sum(v for k, v in s.items() if k.startswith("arms_delivered_by_sup"))


# --------------------------------------------------------------------------- breaking the chain


def test_no_blockade_means_no_fall(base_runs):
    variant = _variant_runs("no-blockade")
    for seed in SEEDS:
        assert variant[seed].summary["capitulation_date"] is None
        assert variant[seed].summary["shortage_days"] == 0
    assert any(r.summary["capitulation_date"] for r in base_runs.values())


def test_israeli_embargo_means_less_materiel_and_never_an_earlier_offensive(base_runs):
    variant = _variant_runs("no-israeli-arms")
    for seed in SEEDS:
        base, emb = base_runs[seed].summary, variant[seed].summary
        assert emb.get("arms_delivered_by_supplier.Israel", 0.0) == 0.0
        assert emb["arms_delivered_t"] < 0.7 * base["arms_delivered_t"]
        # a lower hazard on every day, with the same drawn resistance, can only delay the attack
        assert (emb["offensive_date"] or "9999") >= (base["offensive_date"] or "9999")


def test_denied_airspace_stops_the_air_bridge_and_changes_supplier_shares(base_runs):
    variant = _variant_runs("airspace-denied")
    for seed in SEEDS:
        s = variant[seed].summary
        assert not any("israel_azerbaijan_air" in k for k in s if k.startswith("arms_deliv"))
        assert s.get("arms_delivered_by_supplier.Israel", 0.0) == 0.0
        assert s["energy_delivered.Israel"] == base_runs[seed].summary["energy_delivered.Israel"]
        base_share = (
            base_runs[seed].summary["arms_delivered_by_supplier.Russia"]
            / (base_runs[seed].summary["arms_delivered_t"])
        )
        assert s["arms_delivered_by_supplier.Russia"] / s["arms_delivered_t"] > base_share
    events = variant[1].events
    assert events.message.str.contains("Georgia denies transit by air and road to arms").any()


def test_committed_guarantor_deters_the_offensive():
    variant = _variant_runs("russia-holds-lachin")
    for seed in SEEDS:
        assert variant[seed].summary["offensive_date"] is None
    # the blockade still happens, but escorted convoys keep most needs met
    events = variant[1].events
    assert events.message.str.contains("Russia escorts convoys through lachin").any()
    assert variant[1].summary["NKR.peak_stress"] < 0.5


def test_no_oil_revenue_means_smaller_budget_and_fewer_arms(base_runs):
    variant = _variant_runs("no-oil-revenue")
    for seed in SEEDS:
        base, cut = base_runs[seed].summary, variant[seed].summary
        # only the crude already in the pipe when it shuts still arrives (about 12 days' worth)
        assert (
            cut["energy_revenue_usd_m.Azerbaijan"] < 0.05 * base["energy_revenue_usd_m.Azerbaijan"]
        )
        assert (
            cut["defence_spending_usd_m.Azerbaijan"]
            < 0.6 * base["defence_spending_usd_m.Azerbaijan"]
        )
        assert cut["arms_delivered_t"] < base["arms_delivered_t"]
        assert cut["energy_delivered"] < 0.05 * base["energy_delivered"]


def test_withdrawing_peacekeepers_removes_their_deterrence():
    model = ConflictModel("lachin-2023", rng=1, variants=["russia-holds-lachin"])
    for _ in range(5):
        model.step()
    key = ("Azerbaijan", NK)
    assert model.decisions.deterrence[key] > 0.9
    model.intervene({"action": "withdraw_peacekeepers", "state": "Russia", "to": NK})
    model.step()
    assert model.decisions.deterrence[key] == 0.0
    assert any(
        e.kind == "intervention" and "withdraws its peacekeepers" in e.message for e in model.log
    )


# --------------------------------------------------------------------------- mechanisms in small


def _duel(**changes) -> dict:
    """A two-state war with a patron, written as a scenario dict."""
    data = {
        "meta": {"title": "duel"},
        "calendar": {"start": "2024-01-01", "days": 30},
        "parameters": {"decision_noise_sd": 0.0, "credibility_decay_per_day": 0.0},
        "states": [
            {
                "name": "Red",
                "code": "RED",
                "lat": 0,
                "lon": 0,
                "military": {"personnel": 10000, "quality": 1.0, "terrain": 1.0},
                "claims": [{"target": "Blue", "threshold": 2.0, "resolve": 0.5}],
            },
            {
                "name": "Blue",
                "code": "BLU",
                "lat": 0,
                "lon": 1,
                "population": 1000,
                "patron": "Green",
                "military": {
                    "personnel": 3000,
                    "quality": 1.0,
                    "terrain": 1.0,
                    "break_point": 0.5,
                    "supply_break_point": 0.0,
                },
            },
            {"name": "Green", "code": "GRN", "lat": 0, "lon": 2, "population": 500},
        ],
        "links": [
            {
                "name": "road",
                "mode": "road",
                "a": "Blue",
                "b": "Green",
                "capacity_t_per_day": 100,
                "capacity_people_per_day": 100,
                "transit_days": 2,
            },
        ],
    }
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return data


def _run(tmp_path, data, days=30):
    path = tmp_path / "duel.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    model = ConflictModel(path, rng=0)
    for _ in range(days):
        model.step()
    return model


def test_square_law_attrition_until_break_point(tmp_path):
    model = _run(tmp_path, _duel())
    (war,) = model.combat.wars
    assert war.start_date == dt.date(2024, 1, 1)  # ratio 3.3 > 2 on day one
    assert war.outcome == "capitulation"
    # square law, κ = 0.01: day one Blue loses 0.01 × 10,000 = 100 and Red 0.01 × 3,000 = 30
    assert war.defender_losses >= 1500 and model.state("Blue").personnel < 1500
    first_day = next(e for e in model.log if e.kind == "capitulation")
    assert "break point" in first_day.message


def test_linear_law_is_slower_than_square_for_the_weaker_side(tmp_path):
    square = _run(tmp_path, _duel(), days=3)
    linear = _run(tmp_path, _duel(**{"parameters.combat_law": "linear"}), days=3)
    assert linear.state("Blue").personnel > square.state("Blue").personnel
    assert linear.state("Red").personnel < 10000


def test_helmbold_law_by_hand(tmp_path):
    """Helmbold with W = ½: each side loses κ × the enemy's effectiveness × √(A·D); the
    defender's fire keeps 1 − w of its strength whatever its readiness."""
    data = _duel(
        **{
            "parameters.combat_law": "helmbold",
            "parameters.weiss_exponent": 0.5,
            "parameters.defender_fire_readiness_weight": 0.0,
        }
    )
    data["states"][1]["military"]["terrain"] = 2.0
    data["states"][0]["claims"][0]["threshold"] = 1.0  # still attacks on day one
    model = _run(tmp_path, data, days=1)
    (war,) = model.combat.wars
    assert war.days == 1
    root = math.sqrt(10000 * 3000)
    red = model.state("Red")
    assert war.attacker_losses == pytest.approx(0.01 * 2.0 * root)  # d = quality 1 × terrain 2
    assert war.defender_losses == pytest.approx(0.01 * red.quality * red.readiness * root)
    # W = 1 is the square law: losses in the ratio of the effective forces
    square = _run(
        tmp_path,
        _duel(**{"parameters.combat_law": "helmbold", "parameters.weiss_exponent": 1.0}),
        days=1,
    )
    (war1,) = square.combat.wars
    blue = square.state("Blue")
    assert war1.attacker_losses == pytest.approx(0.01 * blue.quality * 3000 * 1.0, rel=0.05)
    assert war1.defender_losses == pytest.approx(0.01 * 10000, rel=0.05)


def test_displacement_moves_people_with_conservation(tmp_path):
    model = _run(tmp_path, _duel())
    people = model.people
    balance = people.balance()
    assert (balance.residual_t.abs() < 1e-6).all()
    moved = float(people.shipped_t.sum())
    assert moved > 0
    arrived = float(people.delivered_t.sum())
    assert model.state("Green").population == pytest.approx(500 + arrived)
    assert model.state("Blue").population == pytest.approx(1000 - moved)
    # never more than the road carries in a day
    assert max(e.people_today for e in model.links) <= 100 + 1e-9


def test_committed_guarantor_imposes_a_ceasefire(tmp_path):
    data = _duel(**{"parameters.ceasefire_after_days": 2})
    data["states"][2]["guarantees"] = [
        {"protects": "Blue", "personnel": 100, "commitment": 0.9, "credibility": 1.0}
    ]
    data["states"][0]["claims"][0]["resolve"] = 1.0  # undeterred
    model = _run(tmp_path, data, days=10)
    (war,) = model.combat.wars
    assert war.outcome == "ceasefire" and war.days == 2
    assert not model.state("Blue").fallen


def test_bargaining_rule_is_chosen_by_name(tmp_path):
    data = _duel(**{"states.0.claims.0.rule": "bargaining"})
    data["states"][0]["claims"][0].update({"war_cost": 0.1, "credible_offer": 0.9})
    model = _run(tmp_path, data, days=5)
    assert model.combat.wars == []  # p = 0.77: 0.67 < offer 0.9
    data["states"][0]["claims"][0]["credible_offer"] = 0.5
    model = _run(tmp_path, data, days=5)
    assert len(model.combat.wars) == 1
    offensive = next(e for e in model.log if e.kind == "offensive")
    assert "bargaining rule" in offensive.message and "credible at most" in offensive.message


def test_decision_rules_compare_the_right_numbers():
    claim = Claim(target="X", threshold=3.0, resolve=0.4, war_cost=0.1, credible_offer=0.5)
    assert threshold_rule(claim, Situation(3.5, 0.3)).attack
    assert not threshold_rule(claim, Situation(3.5, 0.4)).attack
    assert not threshold_rule(claim, Situation(2.9, 0.0)).attack
    # p = 4/5 = 0.8; 0.8 − 0.1 − 0.1 = 0.6 > the offer, held at the credible 0.5
    assert bargaining_rule(claim, Situation(4.0, 0.1, offer=0.6)).attack
    # 0.8 − 0.1 − 0.25 = 0.45 ≤ 0.5
    assert not bargaining_rule(claim, Situation(4.0, 0.25, offer=0.5)).attack


def test_embargo_of_a_state_that_sells_no_arms_is_rejected():
    with pytest.raises(ScenarioError, match="sells no arms"):
        load_scenario(
            "lachin-2023",
            variants=["no-israeli-arms"],
            overrides={"events.israeli_embargo.state": "Georgia"},
        )


def test_arms_transit_denial_is_specific_to_arms():
    model = ConflictModel("lachin-2023", rng=0, variants=["airspace-denied"])
    model.step()
    assert not model.permits_transit("Georgia", "Israel", "Azerbaijan", "arms", mode="air")
    assert not model.permits_transit("Georgia", "Israel", "Azerbaijan", "arms", mode="road")
    assert model.permits_transit("Georgia", "Azerbaijan", "Turkey", "oil", mode="pipeline")
