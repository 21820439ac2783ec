"""What the library offers, in words a teacher reads: scenarios with their titles, what each
variant changes, and a scenario's briefing and questions (``corridors list`` / ``brief``, the
app's scenario menu)."""

from __future__ import annotations

from dataclasses import dataclass

from corridors.scenarios import Scenario, ScenarioError, builtin_names, load_scenario
from corridors.scenarios.loader import library_dir, variant_names

TEMPLATES = frozenset({"template"})
"""Library files meant to be copied, not run as scenarios."""


@dataclass(frozen=True)
class VariantInfo:
    name: str
    title: str
    changes: str
    """What the variant changes, in one or two sentences (its description)."""


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    title: str
    description: str
    variants: tuple[VariantInfo, ...]


def scenario_names() -> list[str]:
    """Built-in scenarios a class can run (templates left out)."""
    return [name for name in builtin_names() if name not in TEMPLATES]


def template_names() -> list[str]:
    return [name for name in builtin_names() if name in TEMPLATES]


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _variant_title(variant: str, title: str, base_title: str) -> str:
    """A variant's own part of its title ("Lachin corridor — no blockade (counterfactual)" →
    "no blockade (counterfactual)")."""
    for sep in (" — ", " - ", ": "):
        head, _, tail = title.partition(sep)
        if tail and base_title.startswith(head.strip()):
            return tail.strip()
    return title or variant


def describe(name: str) -> ScenarioInfo:
    """A built-in scenario's title, description and variants (raises ScenarioError)."""
    spec = load_scenario(name)
    variants = []
    for variant in variant_names(name):
        try:
            vspec = load_scenario(name, variants=[variant])
        except ScenarioError as exc:  # pragma: no cover - the library is tested
            variants.append(VariantInfo(variant, variant, f"(invalid: {exc})"))
            continue
        vmeta = vspec.meta
        changes = _one_line(vmeta.description) if vmeta.description != spec.meta.description else ""
        if not changes:
            changes = _first_comment(name, variant)
        variants.append(
            VariantInfo(variant, _variant_title(variant, vmeta.title, spec.meta.title), changes)
        )
    return ScenarioInfo(name, spec.meta.title, _one_line(spec.meta.description), tuple(variants))


def _first_comment(name: str, variant: str) -> str:
    """The comment a variant file opens with ("# Counterfactual: …"), if any."""
    path = library_dir() / "variants" / name / f"{variant}.yaml"
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return ""
    return first.lstrip("# ").strip() if first.startswith("#") else ""


def brief_text(spec: Scenario) -> str:
    """A scenario's briefing, lesson objectives, questions and things to try as plain text
    (Markdown), for ``corridors brief`` and the handout."""
    meta = spec.meta
    lines = [f"# {meta.title}", ""]
    if meta.description:
        lines += [_one_line(meta.description), ""]
    if meta.briefing:
        lines += ["## Briefing", "", meta.briefing.strip(), ""]
    lesson = meta.lesson
    if lesson and lesson.objectives:
        lines += ["## What you will learn", ""] + [f"- {o}" for o in lesson.objectives] + [""]
    if lesson:
        predict = [c for c in lesson.cards if c.stage == "predict" and c.question]
        if predict:
            lines += ["## Predict before you run", ""]
            for card in predict:
                lines.append(f"- {card.question}")
                lines += [f"    - {choice}" for choice in card.choices]
            lines.append("")
    if meta.questions:
        lines += ["## Questions", ""] + [f"- {q}" for q in meta.questions] + [""]
    if meta.things_to_try:
        lines += ["## Things to try", ""] + [f"- {t}" for t in meta.things_to_try] + [""]
    if lesson and lesson.leaves_out:
        lines += ["## What the model leaves out", ""] + [f"- {x}" for x in lesson.leaves_out]
        lines.append("")
    if meta.sources:
        lines += ["## Sources", ""]
        for s in meta.sources:
            year = f" ({s.year})" if s.year else ""
            url = f" <{s.url}>" if s.url else ""
            lines.append(f"- {s.title}{year}{url}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
