"""The model: the day step and one module per mechanism."""

from corridors.model.conflict_model import DEFAULT_SCENARIO, ConflictModel
from corridors.model.eventlog import EventLog, LogEntry

__all__ = ["DEFAULT_SCENARIO", "ConflictModel", "EventLog", "LogEntry"]
