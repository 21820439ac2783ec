"""The scenario file format: pydantic models, validated strictly (unknown fields are errors).

A number from the record may be written plainly (``population: 120000``) or with its source
(``population: {value: 120000, source: "ACAPS briefing, Jan 2023"}``); the source is moved into
the entity's ``sources`` map so the model sees plain numbers and reports can cite them.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

COMMODITIES: tuple[str, ...] = ("food", "fuel", "medicine", "ammunition", "arms", "oil", "cargo")
"""Goods the logistics layer moves, all measured in tonnes. ``arms`` is imported military
materiel (weapons, drones, munitions) bought through procurement; ``oil`` is crude."""

CONSUMED_COMMODITIES: tuple[str, ...] = ("food", "fuel", "medicine")
"""Goods a population consumes daily; shortages of these raise humanitarian stress."""

Commodity = Literal["food", "fuel", "medicine", "ammunition", "arms", "oil", "cargo"]

_SOURCED_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "source": {"type": "string"},
                "mark": {"type": "string", "description": "V1, V2 or R (recalled, unverified)"},
            },
            "required": ["value"],
            "additionalProperties": False,
        },
    ]
}


Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False), WithJsonSchema(_SOURCED_SCHEMA)]
"""A non-negative finite number that may carry a source."""

Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), WithJsonSchema(_SOURCED_SCHEMA)]
Score = Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]


def _is_number_type(annotation: Any) -> bool:
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _is_number_type(args[0])
    if args and get_origin(annotation) in (Union, UnionType):
        return bool not in args and any(_is_number_type(a) for a in args)
    return annotation in (int, float)


@functools.cache
def _number_kind(model: type[BaseModel], key: Any) -> str | None:
    """'number' when ``model.key`` holds a number, 'map' for a mapping to numbers, else None."""
    info = model.model_fields.get(key) if isinstance(key, str) else None
    if info is None:
        return None
    if _is_number_type(info.annotation):
        return "number"
    if get_origin(info.annotation) is dict and _is_number_type(get_args(info.annotation)[1]):
        return "map"
    return None


class Strict(BaseModel):
    """Base: unknown fields are errors, assignment is validated (for --set and events)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _no_true_false_for_numbers(cls, data: Any) -> Any:
        # YAML reads yes/no/on/off as true/false, and pydantic would take true as 1
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            kind = _number_kind(cls, key)
            if kind is None:
                continue
            values = value.values() if kind == "map" and isinstance(value, dict) else [value]
            for item in values:
                number = item["value"] if isinstance(item, dict) and "value" in item else item
                if isinstance(number, bool):
                    raise ValueError(
                        f"'{key}' needs a number, got {str(number).lower()} "
                        "(YAML reads yes/no/on/off as true/false)"
                    )
        return data


class Sourced(Strict):
    """An entity whose numbers may each carry a ``source``."""

    sources: dict[str, str] = Field(
        default_factory=dict, description="Source of each number, by field name."
    )

    @model_validator(mode="before")
    @classmethod
    def _lift_sources(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        given = out.get("sources", {})
        sources = dict(given) if isinstance(given, dict) else None
        for key, value in data.items():
            if isinstance(value, dict) and "value" in value and key in cls.model_fields:
                extra = set(value) - {"value", "source", "mark"}
                if extra:
                    continue  # leave it for the field's own validation to reject
                out[key] = value["value"]
                if "source" in value and sources is not None:
                    mark = f" [{value['mark']}]" if value.get("mark") else ""
                    sources[key] = f"{value['source']}{mark}"
        if sources is not None:
            out["sources"] = sources
        return out


class SourceRef(Strict):
    """A document the scenario draws on."""

    id: str
    title: str
    url: str | None = None
    year: int | None = None


class LessonCard(Strict):
    """One step of a lesson: briefing → predict → run → intervene → debrief."""

    stage: Literal["briefing", "predict", "run", "intervene", "debrief"]
    title: str
    text: str = Field("", description="What the teacher says or the class reads (plain text).")
    question: str | None = Field(None, description="The question the class answers (predict).")
    choices: list[str] = Field(
        default_factory=list, description="Answers to choose from, if the question has choices."
    )
    metric: str | None = Field(
        None,
        description="Summary outcome the prediction is about (e.g. 'offensive_date'); the debrief "
        "compares the class's prediction, the run and the record on it.",
    )
    prompts: list[str] = Field(default_factory=list, description="Discussion prompts.")


class Place(Strict):
    """A place named in the lesson, with the names each side uses."""

    name: str = Field(description="Neutral display name used on the map and in the app.")
    names: dict[str, str] = Field(
        default_factory=dict,
        description="Name by community or framing, e.g. {Armenian: Stepanakert, "
        "Azerbaijani: Khankendi}.",
    )
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    note: str = ""
    source: str = ""


class TimelineEntry(Strict):
    """A dated entry of the wider conflict's record (not the model's output)."""

    date: str = Field(description="ISO date, or a year or month ('1994-05', '1988').")
    text: str
    source: str


class GlossaryTerm(Strict):
    """A term the sides use differently, with each side's word or reading."""

    term: str
    framings: dict[str, str] = Field(
        default_factory=dict, description="Each side's (or body's) term or reading, by side."
    )
    note: str = ""
    source: str = ""


class Lesson(Strict):
    """Scaffolding for a class: objectives, ordered cards, places, context, limits."""

    objectives: list[str] = Field(default_factory=list)
    cards: list[LessonCard] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    wider_timeline: list[TimelineEntry] = Field(default_factory=list)
    leaves_out: list[str] = Field(
        default_factory=list, description="What the model leaves out, said plainly."
    )


class Meta(Strict):
    title: str
    description: str = ""
    briefing: str = Field("", description="Background for teachers and students.")
    questions: list[str] = Field(
        default_factory=list, description="Questions for students to answer with the model."
    )
    things_to_try: list[str] = Field(
        default_factory=list, description="Changes to try (variants, --set overrides, events)."
    )
    sources: list[SourceRef] = Field(default_factory=list)
    lesson: Lesson | None = Field(None, description="Lesson cards and scaffolding for a class.")
    glossary: list[GlossaryTerm] = Field(
        default_factory=list, description="Terms the sides use differently."
    )


class Calendar(Strict):
    """The simulated period: one step is one day, starting on ``start``."""

    start: dt.date
    end: dt.date | None = None
    days: int | None = Field(None, ge=1, le=36_500)

    @model_validator(mode="after")
    def _end_or_days(self) -> Calendar:
        if self.end is None and self.days is None:
            raise ValueError("give either 'end' (a date) or 'days' (a number of days)")
        if self.days is not None and (dt.date.max - self.start).days < self.days:
            raise ValueError(
                f"'days' runs past the last date there is (9999-12-31): {self.start} + "
                f"{self.days} days; start earlier or give fewer days"
            )
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        if (
            self.end is not None
            and self.days is not None
            and (self.end - self.start).days != self.days
        ):
            raise ValueError(
                f"'end' and 'days' disagree: {self.start} + {self.days} days is "
                f"{self.start + dt.timedelta(days=self.days)}, not {self.end}; give only one"
            )
        return self

    @property
    def n_days(self) -> int:
        """Number of simulated days (steps)."""
        if self.end is not None:
            return (self.end - self.start).days
        assert self.days is not None
        return self.days


class Role(StrEnum):
    sovereign = "sovereign"
    de_facto = "de_facto"
    exclave = "exclave"


class Stock(Sourced):
    """A stock of one good held by a state, in tonnes, and its daily balance."""

    initial_t: Quantity = Field(0.0, description="Stock on the start date (t).")
    consumption_t_per_day: Quantity = Field(
        0.0, description="Daily need of the population (t/day)."
    )
    local_production_t_per_day: Quantity = Field(
        0.0, description="Produced inside the state each day (t/day)."
    )
    storage_t: Quantity | None = Field(
        None,
        description="Most that shops, warehouses and households hold (t); supplies beyond it "
        "are not stored (traders import what sells). None = no limit.",
    )


class Economy(Sourced):
    """Daily state revenue and the share that funds defence (US$ millions per day)."""

    revenue_usd_m_per_day: Quantity = Field(
        0.0, description="State revenue other than energy exports (US$ m/day)."
    )
    energy_revenue_share: Fraction = Field(
        0.5, description="Share of the value of energy exports delivered that reaches the budget."
    )
    defence_share: Fraction = Field(0.0, description="Share of revenue spent on defence.")
    procurement_share: Fraction = Field(
        0.0, description="Share of the defence budget spent on imported arms."
    )
    arms_budget_usd_m: Quantity = Field(
        0.0, description="Arms money available on the start date (US$ m)."
    )


class Military(Sourced):
    """Forces: combat power = personnel × quality × readiness."""

    personnel: Quantity = Field(0.0, description="Soldiers available for the theatre.")
    quality: Quantity = Field(
        1.0, description="Per-soldier effectiveness (training, drones, ISR), 1 = baseline."
    )
    quality_per_kt_arms: Quantity = Field(
        0.0, description="Quality gained per 1,000 t of imported arms received."
    )
    max_quality: Quantity = Field(5.0, description="Ceiling on quality.")
    arms_required_t: Quantity = Field(
        0.0,
        description="Arms stock (t, stock 'arms') needed for full readiness; 0 = not limiting.",
    )
    readiness_erosion: Fraction = Field(
        0.5, description="How much humanitarian stress (0–1) erodes readiness."
    )
    terrain: Quantity = Field(
        1.0, description="Multiplier on combat power when defending its own ground."
    )
    break_point: Fraction = Field(
        0.5, description="Capitulates when personnel falls below this share of its start."
    )
    supply_break_point: Fraction = Field(
        0.0, description="Capitulates under attack when readiness falls below this."
    )


class ArmsSupplier(Sourced):
    """A state that sells arms."""

    max_delivery_t_per_day: Quantity = Field(description="Most it can deliver per day (t).")
    price_usd_m_per_t: Quantity = Field(1.0, description="Average price of a tonne (US$ m).")
    embargoes: list[str] = Field(default_factory=list, description="States it will not sell to.")


class Rule(StrEnum):
    threshold = "threshold"
    bargaining = "bargaining"
    hazard = "hazard"


class Claim(Sourced):
    """A claim on another state's territory, and the rule deciding when to fight for it."""

    target: str
    rule: Rule = Rule.threshold
    threshold: Quantity = Field(3.0, description="Force ratio above which it attacks.")
    resolve: Fraction = Field(
        0.5, description="Attacks only if the deterrence it faces is below this."
    )
    war_cost: Fraction = Field(
        0.1, description="Bargaining rule: cost of fighting as a share of the prize."
    )
    credible_offer: Fraction = Field(
        0.5,
        description="Bargaining rule: the most of the prize the target can credibly concede.",
    )
    horizon_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Bargaining rule: how far ahead it projects the balance (shifting power).",
    )
    initial_offer: Fraction | None = Field(
        None,
        description="Bargaining rule: the target's offer on the first day (share of the prize); "
        "None = the claimant's reservation value, if credible.",
    )
    offer_adjust_per_day: Fraction = Field(
        0.02,
        description="Bargaining rule: share of the gap to the claimant's reservation value the "
        "target's offer closes each day (capped at credible_offer).",
    )
    hazard_max_per_day: Fraction = Field(
        0.3,
        description="Hazard rule: the daily probability of attack at overwhelming advantage and "
        "no deterrence (1 with infinite steepness = the threshold rule).",
    )
    hazard_steepness: Quantity = Field(
        4.0,
        description="Hazard rule: slope of the logistic on the advantage "
        "ln(force ratio / threshold) + stress_weight × target stress (+ window_bonus).",
    )
    deterrence_steepness: Quantity = Field(
        20.0, description="Hazard rule: slope of the logistic on resolve − deterrence."
    )
    deterrence_floor: Fraction = Field(
        0.0,
        description="Hazard rule: the share of the undeterred hazard that no deterrence "
        "removes (a resolved claimant's residual risk: miscalculation, a fait accompli "
        "gamble); the deterrence factor is floor + (1 − floor) × σ(…).",
    )
    stress_weight: Quantity = Field(
        0.0,
        description="Hazard rule: weight of the target's humanitarian stress (0–1) in the "
        "advantage (a starving target looks weak beyond its readiness).",
    )
    window_bonus: Quantity = Field(
        0.0,
        description="Hazard rule: added to the advantage while a guarantor of the target is "
        "engaged elsewhere (a window of opportunity).",
    )
    demands_corridor: str | None = Field(
        None, description="Corridor demanded after a win (logged; raises third-party tension)."
    )
    earliest: dt.date | None = Field(None, description="No decision before this date.")


class Guarantee(Sourced):
    """A security guarantee: a presence that deters attacks on ``protects``."""

    protects: str
    links: list[str] = Field(
        default_factory=list, description="Links whose passage the guarantee covers."
    )
    personnel: Quantity = Field(0.0, description="Peacekeepers or troops deployed.")
    commitment: Fraction = Field(0.5, description="Will to act on the guarantee (0–1).")
    credibility: Fraction = Field(1.0, description="Credibility at the start (0–1).")
    can_impose_ceasefire: bool = True
    ceasefire_below_share: Fraction = Field(
        0.0,
        description="Steps in with a ceasefire when the protected side's personnel falls below "
        "this share of its strength at the start of the war (0 = never).",
    )
    peacekeepers_on_ceasefire: Quantity = Field(
        0.0, description="Troops it deploys when it imposes a ceasefire (0 = none)."
    )
    engaged_elsewhere: bool = Field(
        False,
        description="The guarantor is at war elsewhere: its deterrence is scaled by "
        "parameters.engaged_commitment_factor and claimants see a window of opportunity.",
    )
    escort_fraction: Fraction = Field(
        0.0,
        description="By rule, while a link it covers is blocked and its commitment is at least "
        "parameters.escort_min_commitment, it escorts convoys that reopen the link at this share "
        "of capacity (0 = never).",
    )
    withdraw_below_credibility: Fraction = Field(
        0.0, description="By rule, it withdraws when its credibility falls below this (0 = never)."
    )


class Response(Sourced):
    """What a third party does when its tension toward a state crosses ``level``."""

    toward: str = Field(description="The state whose actions raise the tension.")
    level: Fraction = Field(description="Tension (0–1) at which the response starts.")
    action: Literal["threaten", "exercise", "deny_transit"] = Field(
        description="threaten: a logged threat adding ``threat`` to the deterrence ``toward`` "
        "faces; exercise: manoeuvres or mobilisation that also deter the scripted events named in "
        "``deters`` (skipped while tension stays at or above the level); deny_transit: refuses "
        "passage to goods for or from ``toward`` (only ``goods`` if given)."
    )
    threat: Fraction = Field(0.0, description="Deterrent threat added toward ``toward`` (0–1).")
    deters: list[str] = Field(
        default_factory=list, description="Names of scripted events the response deters."
    )
    goods: (
        list[Literal["food", "fuel", "medicine", "ammunition", "arms", "oil", "cargo", "people"]]
        | None
    ) = Field(None, description="deny_transit: only these goods.")
    note: str = Field("", description="What the response stands for (shown in the log).")


class Mode(StrEnum):
    road = "road"
    rail = "rail"
    air = "air"
    pipeline = "pipeline"
    sea = "sea"
    river = "river"


TransitGood = Literal["food", "fuel", "medicine", "ammunition", "arms", "oil", "cargo", "people"]


class TransitDenial(Strict):
    """A state's refusal of passage, narrowed to some modes and goods (all when omitted)."""

    state: str = Field(description="The state whose goods are refused (bound for or from it).")
    modes: list[Mode] | None = Field(
        None, description="Only links of these modes (e.g. [air] for an airspace closure)."
    )
    goods: list[TransitGood] | None = Field(None, description="Only these goods.")


class Hub(Sourced):
    """A port, airport, border crossing or terminal inside a state."""

    name: str = Field(description="Unique within its state; links name it as 'State/Hub'.")
    kind: str = Field("", description="What it is (port, airport, border crossing ...).")
    capacity_t_per_day: Quantity | None = Field(
        None,
        description="Throughput of goods, all links and directions together; none = unlimited.",
    )
    capacity_people_per_day: Quantity | None = Field(
        None, description="People who can pass per day; none = unlimited."
    )


class State(Sourced):
    """A state or de facto state: population, stocks, relations."""

    name: str = Field(description="Unique name, used to refer to the state everywhere.")
    code: str = Field(description="Short ISO-like code, e.g. ARM.", min_length=2, max_length=8)
    role: Role = Role.sovereign
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    population: Quantity = 0.0
    stocks: dict[Commodity, Stock] = Field(default_factory=dict)
    relations: dict[str, Score] = Field(
        default_factory=dict,
        description="Attitude toward other states, -1 hostile .. +1 allied (by state name).",
    )
    denies_transit_to: list[str | TransitDenial] = Field(
        default_factory=list,
        description="States whose goods this state keeps out of its territory and airspace: a "
        "name (every mode, every good), or {state, modes, goods} for a narrower denial, e.g. "
        "{state: Russia, modes: [air]} for an airspace closure.",
    )
    hubs: list[Hub] = Field(
        default_factory=list,
        description="Ports, airports, border crossings: links may attach to one "
        "(``a: Oman/Sohar``); its capacity, when given, limits what passes through it.",
    )
    economy: Economy | None = Field(None, description="Revenue and defence budget.")
    military: Military | None = Field(None, description="Forces, quality and readiness.")
    arms_supplier: ArmsSupplier | None = Field(
        None, description="Set if this state sells arms to others."
    )
    claims: list[Claim] = Field(
        default_factory=list, description="Territory this state seeks to take, and how it decides."
    )
    guarantees: list[Guarantee] = Field(
        default_factory=list, description="Security guarantees this state gives."
    )
    patron: str | None = Field(
        None, description="State its population flees to if it falls (e.g. Armenia)."
    )
    opposes_border_change: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Tension this state feels (0–1) when a conquest or new corridor changes "
        "borders in its neighbourhood (e.g. Iran and the Zangezur corridor).",
    )
    threatens: dict[str, Score] = Field(
        default_factory=dict,
        description="Deterrent threat this state poses to a would-be attacker, by state name "
        "(0–1; counts toward the deterrence a claimant faces).",
    )
    initial_tension: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Tension (0–1) this state already feels toward others on the start date.",
    )
    responses: list[Response] = Field(
        default_factory=list,
        description="What this state does when its tension toward another crosses a level.",
    )


DEFAULT_CARRIES: dict[str, tuple[str, ...]] = {
    "road": ("food", "fuel", "medicine", "ammunition", "arms", "cargo"),
    "rail": ("food", "fuel", "medicine", "ammunition", "arms", "cargo", "oil"),
    "air": ("medicine", "ammunition", "arms", "cargo"),
    "pipeline": ("oil",),
    "sea": COMMODITIES,
    "river": ("food", "fuel", "medicine", "ammunition", "arms", "cargo", "oil"),
}
"""Goods a link carries by mode when its ``carries`` is not given: crude oil moves by pipeline,
rail or tanker, not by truck; bulk food and fuel do not fly."""


DEFAULT_PEOPLE_PER_DAY: dict[str, float] = {
    "road": 20_000.0,
    "rail": 10_000.0,
    "air": 2_000.0,
    "pipeline": 0.0,
    "sea": 5_000.0,
    "river": 2_000.0,
}
"""People a link carries per day by mode when ``capacity_people_per_day`` is not given."""


class LinkStatus(StrEnum):
    open = "open"
    throttled = "throttled"
    closed = "closed"


MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
"""A day of the year, ``MM-DD``."""


class Season(Strict):
    """A yearly window in which a link can be used (an ice road in winter, a lake route between
    freeze and thaw): it opens on ``opens`` and closes on ``closes`` (``MM-DD``, every year; a
    season may run across the new year), at ``capacity_t_per_day`` when given."""

    opens: MonthDay
    closes: MonthDay
    capacity_t_per_day: Quantity | None = None
    source: str = ""

    @model_validator(mode="after")
    def _real_days(self) -> Season:
        for day in (self.opens, self.closes):
            try:
                dt.date(2000, int(day[:2]), int(day[3:]))  # a leap year: 02-29 is allowed
            except ValueError:
                raise ValueError(f"{day} is not a day of the year") from None
        if self.opens == self.closes:
            raise ValueError("a season opens and closes on the same day: drop it or widen it")
        return self


class CapacityStep(Strict):
    """From ``date`` on, a link's capacity is ``capacity_t_per_day``, or ``vehicles × payload_t ×
    trips_per_day`` when it is set by the fleet assigned to it (lorries on an ice road, aircraft
    on an air bridge): give one form or the other, not both."""

    date: dt.date
    capacity_t_per_day: Quantity | None = None
    vehicles: Quantity | None = Field(None, description="Vehicles working the link.")
    payload_t: Quantity | None = Field(None, description="Tonnes each vehicle carries a trip.")
    trips_per_day: Quantity | None = Field(
        None, description="Loaded trips each vehicle makes a day."
    )
    source: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> CapacityStep:
        fleet = {
            "vehicles": self.vehicles,
            "payload_t": self.payload_t,
            "trips_per_day": self.trips_per_day,
        }
        given = [k for k, v in fleet.items() if v is not None]
        if self.capacity_t_per_day is not None and given:
            raise ValueError(
                f"give capacity_t_per_day or vehicles × payload_t × trips_per_day, not both "
                f"(also given: {', '.join(given)})"
            )
        if self.capacity_t_per_day is None and len(given) != 3:
            missing = [k for k in fleet if k not in given]
            raise ValueError(
                "a capacity step needs capacity_t_per_day, or all of vehicles, payload_t and "
                f"trips_per_day (missing: {', '.join(missing)})"
            )
        return self

    def capacity(self) -> float:
        """Tonnes a day from this step on."""
        if self.capacity_t_per_day is not None:
            return self.capacity_t_per_day
        return self.vehicles * self.payload_t * self.trips_per_day  # type: ignore[operator]


class Link(Sourced):
    """A supply link between two states: a road corridor, air bridge, pipeline or sea lane."""

    name: str
    mode: Mode
    a: str = Field(description="One endpoint: a state, or a hub of it as 'State/Hub'.")
    b: str = Field(description="The other endpoint: a state, or a hub of it as 'State/Hub'.")
    a_hub: str | None = Field(None, description="Hub of state ``a`` the link attaches to.")
    b_hub: str | None = Field(None, description="Hub of state ``b`` the link attaches to.")
    bidirectional: bool = True
    capacity_t_per_day: Quantity
    transit_days: int = Field(1, ge=0, le=365)
    length_km: Quantity | None = None
    crosses: list[str] = Field(
        default_factory=list, description="States whose territory or airspace the link crosses."
    )
    controlled_by: str | None = Field(None, description="State that controls passage.")
    status: LinkStatus = LinkStatus.open
    throttle: Fraction = Field(
        1.0, description="Fraction of capacity usable when status is 'throttled'."
    )
    loss_rate: Fraction = Field(0.0, description="Fraction of each shipment lost in transit.")
    carries: list[Commodity] | None = Field(
        None, description="Goods the link can carry; when omitted, the mode's usual goods."
    )
    capacity_people_per_day: Quantity | None = Field(
        None, description="People who can travel it per day; by mode when omitted."
    )
    changes_borders: bool = Field(
        False,
        description="Opening it changes borders in effect (an extraterritorial corridor): states "
        "that oppose border changes grow tense toward its endpoints.",
    )
    seasons: list[Season] = Field(
        default_factory=list,
        description="When given, the link is usable only in these yearly windows (it opens and "
        "closes by dated events the event log shows).",
    )
    capacity_schedule: list[CapacityStep] = Field(
        default_factory=list,
        description="Dated changes of capacity (a fleet growing, a route improved): from each "
        "step's date on, its capacity replaces capacity_t_per_day (logged as dated events).",
    )

    @model_validator(mode="after")
    def _schedule_in_order(self) -> Link:
        dates = [step.date for step in self.capacity_schedule]
        for before, after in itertools.pairwise(dates):
            if after <= before:
                raise ValueError(
                    f"capacity_schedule must be in date order with one step a day: {after} "
                    f"follows {before}"
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _hub_endpoints(cls, data: Any) -> Any:
        """``a: Oman/Sohar`` is ``a: Oman`` with ``a_hub: Sohar``: ``a`` stays a state name."""
        if isinstance(data, dict):
            for end in ("a", "b"):
                value = data.get(end)
                if isinstance(value, str) and "/" in value:
                    state, _, hub = value.partition("/")
                    data = {**data, end: state.strip(), f"{end}_hub": hub.strip()}
        return data

    def node(self, end: str) -> str:
        """Routing node of an end: the state, or 'State/Hub'."""
        state, hub = (self.a, self.a_hub) if end == "a" else (self.b, self.b_hub)
        return f"{state}/{hub}" if hub else state

    def people_per_day(self) -> float:
        if self.capacity_people_per_day is not None:
            return self.capacity_people_per_day
        return DEFAULT_PEOPLE_PER_DAY[self.mode]

    def goods(self) -> frozenset[str]:
        """Goods this link carries (its ``carries``, or its mode's defaults)."""
        return frozenset(self.carries if self.carries is not None else DEFAULT_CARRIES[self.mode])


class Flow(Sourced):
    """A standing supply: so many tonnes a day of one good from one state to another."""

    name: str
    commodity: Commodity
    origin: str
    destination: str
    quantity_t_per_day: Quantity
    start: dt.date | None = None
    end: dt.date | None = None
    priority: float = Field(1.0, gt=0, description="Weight when links share scarce capacity.")

    @model_validator(mode="after")
    def _dates(self) -> Flow:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"flow ends ({self.end}) before it starts ({self.start})")
        return self


class Parameters(Sourced):
    """Model-wide parameters; each can be swept or overridden with --set parameters.NAME=VALUE."""

    stress_rise_per_day: float = Field(
        0.02, ge=0, le=1, description="Stress added per day at total shortage (index/day)."
    )
    stress_recovery_per_day: float = Field(
        0.01, ge=0, le=1, description="Stress removed per day when fully supplied (index/day)."
    )
    shortage_weights: dict[Literal["food", "fuel", "medicine"], float] = Field(
        default_factory=lambda: {"food": 0.5, "medicine": 0.3, "fuel": 0.2},
        description="Weight of each good's shortage in the stress index (normalised).",
    )
    hostile_transit_threshold: float = Field(
        -0.5,
        ge=-1,
        le=1,
        description="A transit state whose relation toward a flow's destination is below this "
        "denies passage unless it grants transit explicitly.",
    )
    capacity_noise_cv: float = Field(
        0.0,
        ge=0,
        le=2,
        description="Day-to-day variability of link capacity (coefficient of variation).",
    )
    stress_alert_levels: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 0.75],
        description="Stress levels whose crossing is written to the event log.",
    )
    oil_price_usd_per_t: float = Field(
        580.0, ge=0, description="Price of crude delivered (US$/t), for energy revenue."
    )
    procurement_interval_days: int = Field(
        30, ge=1, le=3650, description="Days between arms purchases."
    )
    decision_noise_sd: float = Field(
        0.1,
        ge=0,
        le=2,
        description="Misperception: sd of the lognormal factor (drawn once per run) on the "
        "force ratio and deterrence a claimant perceives.",
    )
    combat_law: Literal["square", "linear", "helmbold"] = Field(
        "square",
        description="Lanchester law for attrition: square (aimed fire), linear (area fire) or "
        "helmbold (Helmbold's 1964 modification, between them; see weiss_exponent).",
    )
    weiss_exponent: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Helmbold law only: W in ΔA = −κ·d·D^W·A^(1−W). W = 1 is the square law "
        "(losses in the ratio of effective forces), W = 0 the logarithmic law (each side loses "
        "in proportion to its own size); at ½ the loss exchange ratio is the ratio of "
        "effectiveness per soldier, whatever the numbers.",
    )
    defender_fire_readiness_weight: float = Field(
        1.0,
        ge=0,
        le=1,
        description="How much of the defender's fire depends on its readiness: its fire "
        "effectiveness is quality × terrain × (1 − w + w × readiness). Below 1, part of the fire "
        "comes from prepared positions, mines and stocked ammunition that supply shortages do "
        "not take away on the first days.",
    )
    attrition_per_day: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Lanchester coefficient: losses per day per unit of enemy effective force.",
    )
    ceasefire_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A guarantor with commitment × credibility at least this imposes a ceasefire.",
    )
    ceasefire_after_days: int = Field(
        3, ge=1, le=365, description="Days of fighting before a guarantor's ceasefire holds."
    )
    credibility_decay_per_day: float = Field(
        0.003,
        ge=0,
        le=1,
        description="Share of a guarantor's credibility lost per day at a total shortfall: each "
        "day it loses this × the unmet share of the protected population's need (supply "
        "arriving plus local production against need, weighted as shortage_weights).",
    )
    credibility_recovery_per_day: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of the gap to full credibility a guarantor regains on a day it acts "
        "(escorts a convoy, reinforces); a protest regains a tenth of it.",
    )
    escort_min_commitment: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Commitment a guarantor needs to escort convoys through a blockade by rule.",
    )
    engaged_commitment_factor: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A guarantor engaged elsewhere deters with this share of its commitment.",
    )
    killed_share_of_losses: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of Lanchester losses (killed, wounded, captured) who are killed.",
    )
    backlog_cap_days: int = Field(
        180,
        ge=0,
        le=3650,
        description="A supplier's backlog to a buyer is capped at this many days of its "
        "deliveries; money beyond it stays in the buyer's budget.",
    )
    credibility_drop_on_fall: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of credibility lost when the protected state falls.",
    )
    tension_per_kt_rival_arms: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Tension a state feels per 1,000 t of arms a rival delivers to a neighbour.",
    )
    tension_decay_per_day: float = Field(0.001, ge=0, le=1, description="Tension relaxation.")
    flight_share_on_fall: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Share of a fallen state's population willing to flee (fear), "
        "plus flight_stress_weight × its humanitarian stress, capped at 1.",
    )
    flight_stress_weight: float = Field(
        0.5, ge=0, le=1, description="Weight of humanitarian stress in the flight intention."
    )
    fall_routes_open_after_days: int = Field(
        0,
        ge=0,
        le=365,
        description="Days after a fall before the conqueror opens the links out of the fallen "
        "state (the flight starts then).",
    )
    flight_rate_per_day: float = Field(
        0.3, ge=0, le=1, description="Share of those still willing to flee who leave each day."
    )
    flight_share_in_war: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of a defender's population that flees to its patron once fighting "
        "starts on its territory, before any fall.",
    )

    @field_validator("shortage_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return v


class _EventBase(Sourced):
    date: dt.date
    name: str | None = Field(None, description="Identifier; lets a variant replace or drop it.")
    actor: str | None = Field(None, description="State that acts.")
    reason: str = Field("", description="Why it happens, shown in the event log.")
    source: str = Field(
        "",
        description="Where the record says this happened (document, date). Empty for an "
        "assumption or a counterfactual: the log then labels it 'scenario', not 'record'.",
    )


class CloseLink(_EventBase):
    action: Literal["close_link"]
    link: str


class OpenLink(_EventBase):
    action: Literal["open_link"]
    link: str


class ThrottleLink(_EventBase):
    action: Literal["throttle_link"]
    link: str
    fraction: Fraction


class DenyTransit(_EventBase):
    """``state`` refuses passage to goods bound for or coming from ``to`` (only ``goods`` if
    given, e.g. ``[arms]`` for a ban on military cargo)."""

    action: Literal["deny_transit"]
    state: str
    to: str
    goods: list[TransitGood] | None = None
    modes: list[Mode] | None = Field(
        None, description="Only links of these modes, e.g. [air] to close the airspace."
    )


class GrantTransit(_EventBase):
    """``state`` lets goods for ``to`` pass (only ``goods`` if given), whatever its relations."""

    action: Literal["grant_transit"]
    state: str
    to: str
    goods: list[TransitGood] | None = None
    modes: list[Mode] | None = Field(
        None, description="Only links of these modes, e.g. [air] to open the airspace."
    )


class Embargo(_EventBase):
    """Supplier ``state`` stops selling and delivering arms to ``to``."""

    action: Literal["embargo"]
    state: str
    to: str


class LiftEmbargo(_EventBase):
    action: Literal["lift_embargo"]
    state: str
    to: str


class WithdrawPeacekeepers(_EventBase):
    """Guarantor ``state`` withdraws its presence protecting ``to``."""

    action: Literal["withdraw_peacekeepers"]
    state: str
    to: str


class EscortConvoy(_EventBase):
    """Guarantor ``state`` escorts convoys through ``link``: the link carries ``fraction`` of its
    capacity (at least) for ``days`` days."""

    action: Literal["escort_convoy"]
    state: str
    link: str
    fraction: Fraction = 0.3
    days: int = Field(1, ge=1, le=3650)


class Protest(_EventBase):
    """Guarantor ``state`` protests on behalf of ``to`` (logged; a little credibility back)."""

    action: Literal["protest"]
    state: str
    to: str


class Reinforce(_EventBase):
    """Guarantor ``state`` adds ``personnel`` to its presence protecting ``to``."""

    action: Literal["reinforce"]
    state: str
    to: str
    personnel: Quantity


class OrderOffensive(_EventBase):
    """A claimant's own order on its claim to ``to``: ``launch`` an offensive now; ``hold``
    (its decision rule stops firing: a player, e.g. in a classroom room, decides instead); or
    ``rule`` (its decision rule decides again)."""

    action: Literal["order_offensive"]
    state: str
    to: str
    order: Literal["launch", "hold", "rule"] = "launch"


class SetParameter(_EventBase):
    """Change any field by dotted path, e.g. ``parameters.stress_rise_per_day``."""

    action: Literal["set_parameter"]
    path: str
    value: Any


EVENT_CLASSES = (
    CloseLink,
    OpenLink,
    ThrottleLink,
    DenyTransit,
    GrantTransit,
    Embargo,
    LiftEmbargo,
    WithdrawPeacekeepers,
    EscortConvoy,
    Protest,
    Reinforce,
    OrderOffensive,
    SetParameter,
)
ACTIONS: tuple[str, ...] = tuple(
    c.model_fields["action"].annotation.__args__[0] for c in EVENT_CLASSES
)
"""Every event action, in the order of EVENT_CLASSES."""

Event = Annotated[
    CloseLink
    | OpenLink
    | ThrottleLink
    | DenyTransit
    | GrantTransit
    | Embargo
    | LiftEmbargo
    | WithdrawPeacekeepers
    | EscortConvoy
    | Protest
    | Reinforce
    | OrderOffensive
    | SetParameter,
    Field(discriminator="action"),
]


class TargetPoint(Strict):
    """One dated value of a trajectory target (its tolerance defaults to the target's)."""

    date: dt.date
    value: float
    tolerance: float | None = Field(None, ge=0)
    source: str = ""


class Window(Strict):
    """Days ``start`` … ``end``, both included."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError("a window's end comes before its start: swap them")
        return self


TargetRole = Literal["fit", "check", "construction"]


class RelativeTo(Strict):
    """Read a series relative to a dated outcome instead of the calendar: the record's dates
    are shifted by how far the run's ``metric`` (a summary ``*_date`` key) falls from the
    record's ``date``. A pace after an event the model decides (days after the capitulation)
    then tests the pace, not the event's date."""

    metric: str = Field(description="A summary date key, e.g. capitulation_date.")
    date: dt.date = Field(description="The record's date of that outcome.")
    source: str = ""

    @model_validator(mode="after")
    def _a_date_key(self) -> RelativeTo:
        if not self.metric.endswith("_date") or ":" in self.metric:
            raise ValueError(
                f"relative_to reads a summary date key ending in _date (e.g. capitulation_date), "
                f"not '{self.metric}'"
            )
        return self


class Target(Sourced):
    """A historical checkpoint the model can be compared with.

    ``role`` says what a pass is worth: ``fit`` (parameters named in ``fitted`` were tuned to
    it, so it shows only that they can be), ``check`` (nothing was tuned to it), or
    ``construction`` (an input, named in ``set_by``, sets it directly; never counted as a check).
    A target passes when at least ``coverage`` of the seeds fall within ``tolerance``.
    """

    name: str
    description: str = ""
    role: TargetRole = Field(
        description="fit (parameters were tuned to it), check (nothing was) or construction "
        "(an input sets it directly)."
    )
    fitted: list[str] = Field(
        default_factory=list, description="Dotted paths of the parameters fitted to it (fit)."
    )
    set_by: list[str] = Field(
        default_factory=list, description="Inputs that set it directly (construction)."
    )
    metric: str = Field(
        description="Summary key, 'series:[ENTITY:]VARIABLE[+VARIABLE]' or 'event:KIND[:SUBJECT]'."
    )
    date: dt.date | None = Field(
        None, description="Day to read a series on, or the record's date for a date metric."
    )
    value: float | None = Field(
        None, description="The record's value (for a date metric: days from 'date', default 0)."
    )
    tolerance: float = Field(0.0, ge=0)
    coverage: float = Field(
        0.8, gt=0, le=1, description="Share of seeds that must fall within the tolerance."
    )
    points: list[TargetPoint] = Field(
        default_factory=list, description="A trajectory: the metric read on several dates."
    )
    window: Window | None = Field(
        None, description="Sum the series over these days instead of reading one day."
    )
    per: str | None = Field(
        None,
        description="A share: divide by this series, read the same way (same day or window).",
    )
    reaches: float | None = Field(
        None, description="A first-occurrence date: the first day the series reaches this value."
    )
    relative_to: RelativeTo | None = Field(
        None,
        description="Series metrics: read the dates relative to a dated outcome of the run "
        "(its summary date key) instead of the calendar; a run without the outcome misses.",
    )
    note: str = Field("", description="Why the target has its role; caveats.")
    source: str = ""

    @model_validator(mode="after")
    def _role_and_shape(self) -> Target:
        if self.role == "fit" and not self.fitted:
            raise ValueError(
                "a 'fit' target names the parameters fitted to it: add fitted: [PATH, ...]"
            )
        if self.role != "fit" and self.fitted:
            raise ValueError(
                f"only a 'fit' target lists 'fitted' parameters (this one is '{self.role}')"
            )
        if self.role == "construction" and not self.set_by:
            raise ValueError("a 'construction' target names the inputs that set it: add set_by")
        if self.points and (self.date is not None or self.value is not None or self.window):
            raise ValueError("a trajectory gives its dates and values in 'points' only")
        if self.window is not None and self.date is not None:
            raise ValueError("give either 'date' (one day) or 'window' (a sum over days)")
        return self

    def is_date_metric(self) -> bool:
        """Compared in days with ``date``: a ``*_date`` key, an event, or a first-reach date."""
        return (
            self.metric.endswith("_date")
            or self.metric.startswith("event:")
            or self.reaches is not None
        )

    def expected(self) -> float:
        """The record's value (days from ``date`` for a date metric)."""
        if self.value is not None:
            return self.value
        return 0.0 if self.is_date_metric() else float("nan")


class FittedValue(Strict):
    """One fitted parameter: its value and the bounds it was searched in."""

    value: float
    low: float
    high: float
    start: float | None = Field(None, description="The scenario's own value before fitting.")


class FittedOverlay(Strict):
    """Values ``corridors fit`` found, with their provenance; the loader applies them."""

    scenario: str
    made: str = Field(description="When (UTC, ISO 8601).")
    command: str
    optimiser: str
    seed: int
    seeds: int = Field(ge=1, description="Seeds each evaluation ran (0 … seeds−1).")
    evaluations: int = Field(ge=0)
    loss: float
    targets: list[str] = Field(min_length=1, description="The fit targets; nothing else.")
    parameters: dict[str, FittedValue] = Field(min_length=1)
    checks: list[dict[str, Any]] = Field(
        default_factory=list, description="Check targets scored out of sample after fitting."
    )


class Scenario(Strict):
    """A whole scenario file (after any ``extends:`` base has been merged in)."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        allow_inf_nan=False,
        json_schema_extra={"title": "Corridors scenario"},
    )

    extends: str | None = Field(
        None, description="Built-in name or relative path of a scenario this one overrides."
    )
    meta: Meta
    calendar: Calendar
    states: list[State] = Field(min_length=1)
    links: list[Link] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    parameters: Parameters = Field(default_factory=Parameters)
    events: list[Event] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)

    _provenance: Any = PrivateAttr(default=None)
    """How the scenario was loaded (name, file, variants, overrides); set by the loader."""

    def cited_sources(self) -> list[tuple[str, str, str]]:
        """Every number's source: (path of the entity, field, source), nested sections too."""
        out: list[tuple[str, str, str]] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, Sourced):
                out.extend((path, key, text) for key, text in node.sources.items())
            if isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name), f"{path}.{name}" if path else name)
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    label = getattr(item, "name", None) or str(i)
                    walk(item, f"{path}[{label}]")
            elif isinstance(node, dict):
                for key, item in node.items():
                    walk(item, f"{path}.{key}")

        walk(self, "")
        return out

    def state(self, name: str) -> State:
        return next(s for s in self.states if s.name == name)

    def link(self, name: str) -> Link:
        return next(lk for lk in self.links if lk.name == name)

    @property
    def end_date(self) -> dt.date:
        return self.calendar.start + dt.timedelta(days=self.calendar.n_days)
