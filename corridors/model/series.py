"""The daily series: Mesa's DataCollector, with a quicker ``collect``.

Mesa's ``DataCollector.collect`` calls one wrapped reporter per variable and agent, reads
``model.time`` (an observable) once per agent and deep-copies every model value, floats
included: for the default scenario's 23 agents that was 40 % of a day's step (profile in
``docs/benchmarks.md``). :class:`SeriesCollector` stores exactly what Mesa stores, in the same
structures, so ``get_model_vars_dataframe``, ``get_agenttype_vars_dataframe`` and
``mesa.batch_run`` see the same data; it only gets there with fewer calls and copies only
values that are mutable.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

import mesa
import numpy as np

IMMUTABLE = (float, int, str, bool, tuple, type(None), np.generic)
"""Values stored as they are; anything else is deep-copied, as Mesa does."""
PLAIN = frozenset({float, int, str, bool, type(None)})
"""The common immutable types, checked for a whole row at once."""

Reporter = str | Callable[..., Any]


def _getter(reporter: Reporter) -> Callable[[Any], Any]:
    """An agent reporter as a one-argument function (an attribute name becomes attrgetter)."""
    if isinstance(reporter, str):
        return operator.attrgetter(reporter)
    if callable(reporter):
        return reporter
    raise TypeError(f"SeriesCollector supports attribute names and functions, not {reporter!r}")


class SeriesCollector(mesa.DataCollector):
    """A :class:`mesa.DataCollector` for model reporters and agent-type reporters whose
    ``collect`` records the same values as Mesa's, faster.

    Model reporters must be functions of the model (lambdas or partials); agent-type reporters
    attribute names or functions of the agent. Agent reporters and tables are not used here.
    """

    def __init__(
        self,
        model_reporters: Mapping[str, Callable[[Any], Any]],
        agenttype_reporters: Mapping[type, Mapping[str, Reporter]],
    ) -> None:
        super().__init__(model_reporters=dict(model_reporters))
        self._model_getters = list(model_reporters.items())
        self._rows: dict[type, list[Callable[[Any], Any]]] = {}
        for agent_type, reporters in agenttype_reporters.items():
            for name, reporter in reporters.items():
                self._new_agenttype_reporter(agent_type, name, reporter)
            self._rows[agent_type] = [_getter(r) for r in reporters.values()]

    def collect(self, model: mesa.Model) -> None:
        """Record today's values: what ``mesa.DataCollector.collect`` records, in one pass."""
        time = model.time
        if self._model_getters:
            self._collection_steps.append(time)
            model_vars = self.model_vars
            for name, reporter in self._model_getters:
                value = reporter(model)
                model_vars[name].append(value if isinstance(value, IMMUTABLE) else deepcopy(value))
        if self._rows:
            by_type = self._agenttype_records[time] = {}
            for agent_type, getters in self._rows.items():
                rows = []
                for agent in model.agents_by_type.get(agent_type, ()):
                    values = [g(agent) for g in getters]
                    if not PLAIN.issuperset(map(type, values)):
                        values = [v if isinstance(v, IMMUTABLE) else deepcopy(v) for v in values]
                    rows.append((time, agent.unique_id, *values))
                by_type[agent_type] = rows
