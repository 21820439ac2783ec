"""War dynamics in degrees, mechanism by mechanism, with hand-computed cases and properties:
the attack hazard, bargaining, guarantors that act, capitulation from losses and supply, the
exodus as a process, procurement over the network, third parties' responses."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from corridors import ConflictModel
from corridors.model.decisions import (
    Situation,
    attack_hazard,
    bargaining_rule,
    hazard_rule,
    threshold_rule,
)
from corridors.scenarios.schema import Claim


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# --------------------------------------------------------------------------- attack hazard


def test_hazard_hand_computed():
    claim = Claim(
        target="X",
        rule="hazard",
        threshold=10.0,
        resolve=0.3,
        hazard_max_per_day=0.3,
        hazard_steepness=2.0,
        deterrence_steepness=10.0,
        stress_weight=0.5,
        window_bonus=0.4,
    )
    ratio = 10.0 * math.exp(0.5)  # ln(r / threshold) = 0.5
    # advantage 0.5 + 0.5 × stress 0.2 = 0.6; σ(2 × 0.6) × σ(10 × (0.3 − 0.1))
    expected = 0.3 * _sigma(1.2) * _sigma(2.0)
    assert attack_hazard(claim, Situation(ratio, 0.1, target_stress=0.2)) == pytest.approx(expected)
    assert expected == pytest.approx(0.3 * 0.76852 * 0.88080, rel=1e-4)
    # a guarantor engaged elsewhere: advantage + 0.4
    windowed = attack_hazard(claim, Situation(ratio, 0.1, target_stress=0.2, window=True))
    assert windowed == pytest.approx(0.3 * _sigma(2.0) * _sigma(2.0))
    # the day's decision: attack once the cumulative hazard −ln(1 − h) reaches the run's draw
    h = expected
    assert hazard_rule(claim, Situation(ratio, 0.1, 0.2, draw=0.5, cumulative=0.3)).attack == (
        0.3 - math.log(1 - h) >= 0.5
    )
    assert not hazard_rule(claim, Situation(ratio, 0.1, 0.2, draw=5.0, cumulative=0.0)).attack


def test_deterrence_floor_leaves_a_residual_risk():
    """floor + (1 − floor) × σ(…): full deterrence cuts the hazard to the floor's share of the
    undeterred one, never to zero; without a floor the old rule is unchanged."""
    claim = Claim(
        target="X",
        rule="hazard",
        threshold=10.0,
        resolve=0.2,
        hazard_max_per_day=0.3,
        hazard_steepness=3.0,
        deterrence_steepness=40.0,
        deterrence_floor=0.01,
    )
    # ratio at the threshold: advantage factor ½; deterrence 1.0 → σ(40 × −0.8) ≈ 1.3e-14
    deterred = attack_hazard(claim, Situation(10.0, 1.0))
    assert deterred == pytest.approx(0.3 * 0.5 * (0.01 + 0.99 * _sigma(-32.0)))
    assert deterred == pytest.approx(0.0015, rel=1e-6)
    # at resolve: σ(0) = ½ → 0.3 × ½ × (0.01 + 0.99 × ½)
    assert attack_hazard(claim, Situation(10.0, 0.2)) == pytest.approx(0.3 * 0.5 * 0.505)
    plain = claim.model_copy(update={"deterrence_floor": 0.0})
    assert attack_hazard(plain, Situation(10.0, 1.0)) < 1e-14


def test_threshold_rule_is_the_hazards_limiting_case():
    limit = Claim(
        target="X",
        rule="hazard",
        threshold=3.0,
        resolve=0.4,
        hazard_max_per_day=1.0,
        hazard_steepness=1e9,  # steepness → ∞ (scenario numbers must be finite)
        deterrence_steepness=1e9,
    )
    for ratio in (0.5, 2.9, 3.1, 10.0):
        for deterrence in (0.0, 0.39, 0.41, 0.9):
            s = Situation(ratio, deterrence, draw=1.0)
            assert attack_hazard(limit, s) in (0.0, 1.0)
            assert hazard_rule(limit, s).attack == threshold_rule(limit, s).attack


claims = st.builds(
    Claim,
    target=st.just("X"),
    rule=st.just("hazard"),
    threshold=st.floats(0.5, 20),
    resolve=st.floats(0, 1),
    hazard_max_per_day=st.floats(0.01, 1),
    hazard_steepness=st.floats(0.1, 20),
    deterrence_steepness=st.floats(0.1, 100),
)


@given(
    claim=claims,
    ratio=st.floats(0.01, 100),
    factor=st.floats(1.0, 10.0),
    deterrence=st.floats(0, 1),
)
def test_hazard_rises_with_the_force_ratio(claim, ratio, factor, deterrence):
    low = attack_hazard(claim, Situation(ratio, deterrence))
    high = attack_hazard(claim, Situation(ratio * factor, deterrence))
    assert 0.0 <= low <= high <= claim.hazard_max_per_day


@given(claim=claims, ratio=st.floats(0.01, 100), d=st.floats(0, 1), more=st.floats(0, 1))
def test_hazard_falls_with_deterrence(claim, ratio, d, more):
    assert attack_hazard(claim, Situation(ratio, min(1.0, d + more))) <= attack_hazard(
        claim, Situation(ratio, d)
    )


# --------------------------------------------------------------------------- bargaining


def test_bargaining_range_offer_and_shifting_power():
    claim = Claim(target="X", rule="bargaining", war_cost=0.1, credible_offer=0.5)
    # p = 0.75 at r = 3: reservation value 0.75 − 0.1 − 0.05 = 0.6 > offer 0.5 (capped)
    s = Situation(3.0, 0.05, offer=0.7, projected_ratio=3.0)
    decision = bargaining_rule(claim, s)
    assert decision.attack and decision.numbers["offer"] == 0.5
    assert decision.numbers["expected_value"] == pytest.approx(0.6)
    # power shifting in its favour (r = 9 in 30 days, p = 0.9): it waits for the fait accompli
    assert not bargaining_rule(claim, Situation(3.0, 0.05, offer=0.5, projected_ratio=9.0)).attack
    # an offer in range (0.45 ≥ 0.4) keeps the peace while power is stable ...
    stable = Situation(2.0, 0.17, offer=0.45, projected_ratio=2.0)  # 0.667 − 0.1 − 0.17 = 0.397
    assert not bargaining_rule(claim, stable).attack
    # ... but not when power is shifting against the claimant: peace is worth only what it
    # could get later (p = 0.5 at r = 1: 0.5 − 0.27 = 0.23), so war now: the commitment problem
    shifting = Situation(2.0, 0.17, offer=0.45, projected_ratio=1.0)
    assert bargaining_rule(claim, shifting).attack


# --------------------------------------------------------------------------- small worlds


def _world(**changes) -> dict:
    """Red claims Blue; Green is Blue's patron and guarantor; Blue eats food from Green."""
    data = {
        "meta": {"title": "world"},
        "calendar": {"start": "2024-01-01", "days": 40},
        "parameters": {
            "decision_noise_sd": 0.0,
            "credibility_decay_per_day": 0.1,
            "capacity_noise_cv": 0.0,
            "shortage_weights": {"food": 1.0},
        },
        "states": [
            {
                "name": "Red",
                "code": "RED",
                "lat": 0,
                "lon": 0,
                "military": {"personnel": 10000, "quality": 1.0},
                "claims": [{"target": "Blue", "threshold": 100.0, "resolve": 0.0}],
            },
            {
                "name": "Blue",
                "code": "BLU",
                "lat": 0,
                "lon": 1,
                "population": 1000,
                "patron": "Green",
                "military": {"personnel": 3000, "quality": 1.0, "readiness_erosion": 0.0},
                "stocks": {"food": {"initial_t": 0, "consumption_t_per_day": 10}},
            },
            {
                "name": "Green",
                "code": "GRN",
                "lat": 0,
                "lon": 2,
                "population": 500,
                "guarantees": [
                    {
                        "protects": "Blue",
                        "links": ["road"],
                        "personnel": 100,
                        "commitment": 0.9,
                        "credibility": 1.0,
                    }
                ],
            },
        ],
        "links": [
            {
                "name": "road",
                "mode": "road",
                "a": "Blue",
                "b": "Green",
                "capacity_t_per_day": 100,
                "capacity_people_per_day": 100,
                "transit_days": 0,
            }
        ],
        "flows": [
            {
                "name": "food",
                "commodity": "food",
                "origin": "Green",
                "destination": "Blue",
                "quantity_t_per_day": 10,
            }
        ],
    }
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return data


def _model(tmp_path, data) -> ConflictModel:
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return ConflictModel(path, rng=0, record_flows=False)


def _credibility_after(tmp_path, food_t: float, days: int = 5) -> float:
    model = _model(tmp_path, _world(**{"flows.0.quantity_t_per_day": food_t}))
    for _ in range(days):
        model.step()
    return model.diplomacy.guarantees[0].credibility


def test_credibility_erodes_with_the_unmet_share_hand_computed(tmp_path):
    # need 10 t/day; 5 t arrive: unmet 0.5; decay 0.1 × 0.5 a day for 5 days
    assert _credibility_after(tmp_path, 5.0) == pytest.approx(0.95**5)
    assert _credibility_after(tmp_path, 10.0) == pytest.approx(1.0)
    assert _credibility_after(tmp_path, 9.9) > 0.995  # a road throttled to 99 % costs little


@given(low=st.floats(0, 10), high=st.floats(0, 10))
def test_more_unmet_need_erodes_credibility_faster(tmp_path_factory, low, high):
    tmp = tmp_path_factory.mktemp("cred")
    less, more = sorted((low, high))  # less food arriving = more unmet need
    assert _credibility_after(tmp, less, 3) <= _credibility_after(tmp, more, 3) + 1e-12


def test_guarantor_escorts_convoys_through_a_closed_road_and_regains_credibility(tmp_path):
    data = _world(**{"states.2.guarantees.0.escort_fraction": 0.3})
    data["events"] = [{"date": "2024-01-03", "action": "close_link", "link": "road"}]
    model = _model(tmp_path, data)
    for _ in range(6):
        model.step()
    road = model.link("road")
    assert road.status == "closed" and road.usable_fraction == 0.3  # 30 t/day ≥ the 10 needed
    assert model.state("Blue").shortage["food"] == 0.0
    assert any("escorts convoys through road" in e.message for e in model.log)
    # below the commitment needed to escort, the closed road starves Blue
    data["states"][2]["guarantees"][0]["commitment"] = 0.5
    model = _model(tmp_path, data)
    for _ in range(6):
        model.step()
    assert model.link("road").usable_fraction == 0.0
    assert model.state("Blue").shortage["food"] == 1.0


def test_escort_event_protest_and_reinforcement(tmp_path):
    data = _world()
    data["events"] = [
        {"date": "2024-01-02", "action": "close_link", "link": "road"},
        {"date": "2024-01-04", "action": "escort_convoy", "state": "Green", "link": "road",
         "fraction": 0.5, "days": 2},
        {"date": "2024-01-04", "action": "protest", "state": "Green", "to": "Blue"},
        {"date": "2024-01-05", "action": "reinforce", "state": "Green", "to": "Blue",
         "personnel": 900},
    ]  # fmt: skip
    model = _model(tmp_path, data)
    fractions = []
    for _ in range(7):
        model.step()
        fractions.append(model.link("road").usable_fraction)
    assert fractions == [1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]
    assert model.diplomacy.guarantees[0].personnel == 1000
    kinds = [e.message for e in model.log if e.kind == "event"]
    assert any("protests on behalf of Blue" in m for m in kinds)
    assert any("reinforces" in m and "1,000" in m for m in kinds)


def test_engaged_elsewhere_halves_deterrence_and_opens_a_window(tmp_path):
    data = _world()
    data["events"] = [
        {"date": "2024-01-03", "action": "set_parameter",
         "path": "states.Green.guarantees.0.engaged_elsewhere", "value": True},
    ]  # fmt: skip
    model = _model(tmp_path, data)
    model.step()
    key = ("Red", "Blue")
    before = model.decisions.deterrence[key]
    for _ in range(3):
        model.step()
    assert model.decisions.deterrence[key] == pytest.approx(0.5 * before)
    assert model.decisions.situation(model.decisions.claims[0]).window


def test_ceasefire_is_evaluated_before_capitulation(tmp_path):
    data = _world(**{"states.0.claims.0.threshold": 1.0, "states.0.claims.0.resolve": 1.0})
    data["states"][1]["military"]["break_point"] = 0.99
    data["states"][2]["guarantees"][0]["ceasefire_below_share"] = 0.99
    model = _model(tmp_path, data)
    for _ in range(3):
        model.step()
    (war,) = model.combat.wars
    assert war.outcome == "ceasefire"  # both hold on day 2: the guarantor acts first
    assert not model.state("Blue").fallen


def test_capitulation_combines_losses_and_readiness(tmp_path):
    data = _world(**{"states.0.claims.0.threshold": 1.0, "states.0.claims.0.resolve": 1.0})
    data["states"][2]["guarantees"] = []
    data["states"][1]["military"]["break_point"] = 0.5
    model = _model(tmp_path, data)
    model.step()
    (war,) = model.combat.wars
    blue = model.state("Blue")
    # after one day (κ = 0.01): Blue loses 0.01 × 10,000 = 100 of 3,000 → share 0.967
    assert blue.personnel == pytest.approx(2900)
    blue.readiness = 0.55  # 0.967 × 0.55 = 0.53 ≥ 0.5: holds
    assert model.combat.strength_share(war) == pytest.approx(2900 / 3000 * 0.55)
    assert not model.combat._capitulation(war)
    blue.readiness = 0.5  # 0.967 × 0.5 = 0.48 < 0.5: breaks, though it lost only 3 %
    assert model.combat._capitulation(war)
    message = next(e.message for e in model.log if e.kind == "capitulation")
    assert "strength 48% of its start" in message and "readiness 0.50" in message
    assert war.defender_killed == pytest.approx(0.25 * 100)


def test_exodus_waits_for_the_route_and_is_limited_by_its_capacity(tmp_path):
    data = _world(**{"states.0.claims.0.threshold": 1.0, "states.0.claims.0.resolve": 1.0})
    data["states"][2]["guarantees"] = []
    data["states"][1]["military"]["break_point"] = 0.99
    data["parameters"].update(
        {"fall_routes_open_after_days": 3, "flight_share_on_fall": 1.0, "flight_rate_per_day": 1}
    )
    data["events"] = [{"date": "2024-01-01", "action": "close_link", "link": "road"}]
    model = _model(tmp_path, data)
    arrived = []
    for _ in range(12):
        model.step()
        arrived.append(model.consequences.arrived_today())
    (war,) = model.combat.wars
    fall = (war.end_date - model.start_date).days  # day index of the capitulation
    assert fall == 1
    assert arrived[: fall + 3] == [0.0] * (fall + 3)  # closed until 3 days after the fall
    # then 100 people a day, the road's capacity (transit 0 days: they arrive the same day)
    assert arrived[fall + 3 : fall + 6] == [pytest.approx(100.0)] * 3
    assert model.consequences.arrived() == pytest.approx(sum(arrived))


# --------------------------------------------------------------------------- procurement


def test_procurement_pays_only_suppliers_that_can_deliver():
    model = ConflictModel(
        "lachin-2023", rng=0, variants=["airspace-denied"], record_series=False,
        record_flows=False,
    )  # fmt: skip
    for _ in range(40):
        model.step()
    contracted = model.procurement.contracted_t
    assert contracted.get(("Israel", "Azerbaijan"), 0.0) == 0.0
    assert contracted[("Russia", "Azerbaijan")] > 0
    message = next(
        e.message for e in model.log if e.kind == "procurement" and "Azerbaijan buys" in e.message
    )
    assert "none from Turkey, Israel (no permitted route)" in message  # both fly over Georgia


def test_procurement_moves_a_backlog_when_its_route_is_lost():
    model = ConflictModel("lachin-2023", rng=0, record_series=False, record_flows=False)
    for _ in range(31):
        model.step()
    assert model.procurement.backlog_t[("Israel", "Azerbaijan")] > 0
    model.intervene(
        {"action": "deny_transit", "state": "Georgia", "to": "Azerbaijan", "goods": ["arms"]}
    )
    for _ in range(30):
        model.step()
    assert model.procurement.backlog_t[("Israel", "Azerbaijan")] == 0.0
    assert any("moves $" in e.message and "away from Israel" in e.message for e in model.log)


def test_backlog_is_capped():
    model = ConflictModel(
        "lachin-2023", rng=0, record_series=False, record_flows=False,
        overrides={"parameters.backlog_cap_days": 10},
    )  # fmt: skip
    for _ in range(100):
        model.step()
    for (supplier, _), tonnes in model.procurement.backlog_t.items():
        spec = model.state(supplier).spec.arms_supplier
        assert tonnes <= 10 * spec.max_delivery_t_per_day + 1e-9
    assert model.state("Azerbaijan").budget_usd_m > 0  # the rest stays in the budget


# --------------------------------------------------------------------------- third parties


def test_irans_red_line_changes_the_zangezur_outcome():
    runs = {}
    for variants in ([], ["iran-red-line"]):
        model = ConflictModel("zangezur", rng=0, variants=variants, record_series=False)
        while model.running:
            model.step()
        runs[tuple(variants)] = model
    base, red = runs[()], runs[("iran-red-line",)]
    assert base.link("zangezur_rail").carried_total_t > 100_000
    assert red.link("zangezur_rail").carried_total_t == 0.0  # the opening was deterred
    assert any(e.kind == "event_deterred" for e in red.log)
    # in the base, the opening crosses Iran's red line: it closes the Aras road to Nakhchivan
    responses = [e.message for e in base.log if e.kind == "response"]
    assert any("deny_transit" in m for m in responses)
    assert not base.permits_transit("Iran", "Azerbaijan", "Nakhchivan", "food")
    assert base.diplomacy.deterrence("Azerbaijan", "Armenia") == pytest.approx(0.3)
