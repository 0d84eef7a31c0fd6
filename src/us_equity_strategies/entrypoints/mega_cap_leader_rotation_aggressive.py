"""mega_cap_leader_rotation_aggressive: the shared mega-cap engine, this profile's manifest."""

from .mega_cap_leader_rotation import Parameters, evaluate, required_rows

__all__ = ["Parameters", "evaluate", "required_rows"]
