"""The frozen benchmark data (prompt, tools, scenario texts), loaded from the package, not from disk paths.

The JSON files under ``data/`` are copied verbatim from ToolCall-15 v1.0.1 (MIT). Keeping them as
data rather than Python literals means a diff against upstream's pack is a plain JSON diff, and the
12 tool schemas reach the model byte-for-byte as upstream sends them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Category = Literal["A", "B", "C", "D", "E"]
CATEGORIES: tuple[Category, ...] = ("A", "B", "C", "D", "E")
PACK_VERSION = "1.0.1"
UPSTREAM = "stevibe/ToolCall-15 @ edd6cef"
MAX_TURNS = 8
REQUEST_TIMEOUT_S = 30.0


class ScenarioSpec(BaseModel):
    """One scenario's published text. Its mocks and scoring live in :mod:`.scenarios`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    category: Category
    category_label: str
    user_message: str
    description: str
    success_case: str
    failure_case: str


class BenchmarkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    system_prompt: str
    system_prompt_suffix: str
    reference_date: str
    reference_day: str
    category_labels: dict[Category, str]
    tools: list[dict[str, Any]]
    scenarios: list[ScenarioSpec]

    @property
    def full_system_prompt(self) -> str:
        return self.system_prompt + self.system_prompt_suffix

    def scenario(self, scenario_id: str) -> ScenarioSpec:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise KeyError(scenario_id)


def read_data(name: str) -> Any:
    """Parse one JSON file shipped in ``integrations/toolcall15/data``."""
    text = resources.files("integrations.toolcall15").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def load_spec() -> BenchmarkSpec:
    return BenchmarkSpec.model_validate(read_data("toolcall15_spec.json"))
