"""The graduation part of ``[reporting]`` (see :mod:`bot.config`): the readiness indicators
and their weights, the gates, the stages of graduasi mandiri and the complementary
programmes (bansos komplementer), with their defaults and checks.

The old "Menerima bansos komplementer" indicator is refused by name with a line saying
what replaced it (the programmes recorded per family), rather than kept as a weight that
would count the same thing twice.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.rules.graduation import DEFAULT_PROGRAMMES, DEFAULT_STAGES, StageWhen

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
RETIRED_INDICATOR = "bansos_komplementer"
MAX_PROGRAMMES = 10  # one page of toggles in /graduasi


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_line(text: str) -> str:
    if "\n" in text or text != text.strip():
        raise ValueError("one line of text, without leading or trailing spaces")
    return text


class GraduationIndicator(_Section):
    label: str
    weight: float = Field(ge=0)


def default_indicators() -> dict[str, GraduationIndicator]:
    # The family's stated willingness is a gate (graduation_gates), not a weight; the old
    # "Menerima bansos komplementer" weight is the programmes recorded per family now.
    return {
        "penghasilan_umk": GraduationIndicator(label="Penghasilan di atas UMK", weight=3),
        "usaha_berjalan": GraduationIndicator(label="Punya usaha yang berjalan", weight=2),
        "kube_pena": GraduationIndicator(label="Ikut KUBE atau PENA", weight=1),
        "anak_sekolah": GraduationIndicator(label="Semua anak bersekolah", weight=1),
        "bersedia": GraduationIndicator(label="Keluarga menyatakan bersedia", weight=0),
    }


class GraduationStage(_Section):
    label: str = Field(min_length=1, max_length=60)
    when: StageWhen
    min_score: float | None = Field(default=None, ge=0)

    @field_validator("label")
    @classmethod
    def _label(cls, label: str) -> str:
        return _one_line(label)


def default_stages() -> dict[str, GraduationStage]:
    return {
        stage.key: GraduationStage(label=stage.label, when=stage.when, min_score=stage.min_score)
        for stage in DEFAULT_STAGES
    }


class ComplementaryProgramme(_Section):
    label: str = Field(min_length=1, max_length=40)
    aliases: list[str] = Field(default_factory=list)

    @field_validator("label")
    @classmethod
    def _label(cls, label: str) -> str:
        return _one_line(label)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, aliases: list[str]) -> list[str]:
        bad = [alias for alias in aliases if not re.fullmatch(r"[a-z0-9][a-z0-9 -]{0,29}", alias)]
        if bad:
            raise ValueError(f"lower-case words such as 'kis' or 'bpnt', not {bad}")
        return aliases


def default_programmes() -> dict[str, ComplementaryProgramme]:
    return {
        p.key: ComplementaryProgramme(label=p.label, aliases=list(p.aliases))
        for p in DEFAULT_PROGRAMMES
    }


def no_retired_indicator(
    indicators: dict[str, GraduationIndicator],
) -> dict[str, GraduationIndicator]:
    """``[reporting.indicators]`` without the retired bansos komplementer weight."""
    if RETIRED_INDICATOR in indicators:
        raise ValueError(
            f"no {RETIRED_INDICATOR!r} indicator: complementary programmes are recorded per "
            "family now ([reporting.complementary_programmes]); remove "
            f"[reporting.indicators.{RETIRED_INDICATOR}]"
        )
    return indicators


def gates_are_indicators(
    gates: list[str], indicators: dict[str, GraduationIndicator] | None
) -> list[str]:
    """``graduation_gates``: keys of the indicators (None: those were refused already)."""
    if indicators is None:
        return gates
    unknown = [gate for gate in gates if gate not in indicators]
    if unknown:
        raise ValueError(
            f"keys of [reporting.indicators]; {unknown} are not (known: {sorted(indicators)}); "
            "graduation_gates = [] for none"
        )
    return list(dict.fromkeys(gates))


def stage_order(stages: dict[str, GraduationStage]) -> dict[str, GraduationStage]:
    """The stages in order: first the one every family is at ("always"), then stages by
    score, one "ready" (siap) and, last if at all, "graduated"."""
    bad = [key for key in stages if not KEY.fullmatch(key)]
    if bad:
        raise ValueError(f"keys are lower-case words joined by _ (like siap), {bad} are not")
    whens = [stage.when for stage in stages.values()]
    if not whens or whens[0] is not StageWhen.ALWAYS or whens.count(StageWhen.ALWAYS) > 1:
        raise ValueError("the first stage, and only it, with when = 'always'")
    if whens.count(StageWhen.READY) != 1:
        raise ValueError("exactly one stage with when = 'ready' (siap)")
    ready = whens.index(StageWhen.READY)
    if StageWhen.SCORE in whens[ready:]:
        raise ValueError("the stages with when = 'score' before the one with when = 'ready'")
    if StageWhen.GRADUATED in whens[:-1]:
        raise ValueError("at most one stage with when = 'graduated', the last")
    minimums: list[float] = []
    for key, stage in stages.items():
        if stage.min_score is not None and stage.when is not StageWhen.SCORE:
            raise ValueError(f"min_score only on a stage with when = 'score', not on {key!r}")
        if stage.min_score is not None:
            minimums.append(stage.min_score)
    if minimums != sorted(minimums):
        raise ValueError("min_score rising from one stage to the next")
    return stages


def programme_keys(
    programmes: dict[str, ComplementaryProgramme],
) -> dict[str, ComplementaryProgramme]:
    """``[reporting.complementary_programmes]``: keys, how many, aliases used once."""
    bad = [key for key in programmes if not KEY.fullmatch(key)]
    if bad:
        raise ValueError(f"keys are lower-case words joined by _ (like kip_pip), {bad} are not")
    if len(programmes) > MAX_PROGRAMMES:
        raise ValueError(f"at most {MAX_PROGRAMMES} programmes, not {len(programmes)}")
    seen: dict[str, str] = {}
    for key, programme in programmes.items():
        for alias in programme.aliases:
            if seen.setdefault(alias, key) != key:
                raise ValueError(f"alias {alias!r} given to both {seen[alias]!r} and {key!r}")
    return programmes
