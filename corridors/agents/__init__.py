"""Mesa agents: states and the supply links between them."""

from corridors.agents.link import STATUS_CODES, SupplyLink
from corridors.agents.state import StateAgent

__all__ = ["STATUS_CODES", "StateAgent", "SupplyLink"]
