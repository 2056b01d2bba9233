"""Result models and ToolCall-15's aggregate arithmetic.

Upstream always reports all five categories out of 6 points each and 30 points in total, even for a
partial run (unrun scenarios count as 0), so a subset run's score is comparable only with care; the
report says whether it is ``complete``. Rounding is JavaScript's ``Math.round`` (halves go up), which
differs from Python's banker's ``round``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.toolcall15.scenarios import SCENARIOS, Status
from integrations.toolcall15.spec import CATEGORIES, PACK_VERSION, Category, load_spec

CATEGORY_MAX_POINTS = 6


class ToolCallTrace(BaseModel):
    """A tool call the model made and the mock result it got back (as the JSON text it was sent)."""

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any]
    turn: int
    result: str


class ScenarioResult(BaseModel):
    """One scenario's verdict plus enough trace to see why."""

    id: str
    title: str
    category: Category
    status: Status
    points: int = Field(ge=0, le=2)
    summary: str
    note: str | None = None
    latency_s: float
    turns: int
    tool_calls: list[ToolCallTrace] = Field(default_factory=list)
    assistant_messages: list[str] = Field(default_factory=list)
    final_answer: str = ""
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class CategoryScore(BaseModel):
    label: str
    points: int
    max_points: int = CATEGORY_MAX_POINTS
    percent: int


class EvalReport(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    benchmark: str = "ToolCall-15"
    version: str = PACK_VERSION
    base_url: str
    model: str
    score: int = Field(ge=0, le=100)
    points: int
    max_points: int
    rating: str
    complete: bool
    categories: dict[Category, CategoryScore]
    scenarios: list[ScenarioResult]
    started_at: datetime
    duration_s: float


def js_round(x: float) -> int:
    """``Math.round``: nearest integer, exact halves toward +infinity."""
    return math.floor(x + 0.5)


def category_percent(points: int) -> int:
    return js_round(points / CATEGORY_MAX_POINTS * 100)


def final_score(category_percents: list[int]) -> int:
    return js_round(sum(category_percents) / len(category_percents))


def rating_for(score: int) -> str:
    if score >= 90:
        return "★★★★★ Excellent"
    if score >= 75:
        return "★★★★ Good"
    if score >= 60:
        return "★★★ Adequate"
    if score >= 40:
        return "★★ Weak"
    return "★ Poor"


def score_categories(results: list[ScenarioResult]) -> dict[Category, CategoryScore]:
    labels = load_spec().category_labels
    scores: dict[Category, CategoryScore] = {}
    for category in CATEGORIES:
        earned = sum(r.points for r in results if SCENARIOS[r.id].spec.category == category)
        scores[category] = CategoryScore(label=labels[category], points=earned, percent=category_percent(earned))
    return scores


def build_report(
    results: list[ScenarioResult], *, base_url: str, model: str, started_at: datetime, duration_s: float
) -> EvalReport:
    categories = score_categories(results)
    score = final_score([c.percent for c in categories.values()])
    return EvalReport(
        base_url=base_url,
        model=model,
        score=score,
        points=sum(r.points for r in results),
        max_points=2 * len(SCENARIOS),
        rating=rating_for(score),
        complete={r.id for r in results} == set(SCENARIOS),
        categories=categories,
        scenarios=results,
        started_at=started_at,
        duration_s=round(duration_s, 3),
    )
