"""The timelines service: home (fanout + celebrity merge), public and account timelines."""

from roost.services.timelines.timelines import TimelinesService, home_key

__all__ = ["TimelinesService", "home_key"]
