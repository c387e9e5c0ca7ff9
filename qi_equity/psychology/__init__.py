"""Psychology of change: are we hearing from the people affected?

IHI's lens asks how people respond to change and how they feel about the issue. Here: a log of
the collaborative's hybrid (online / offline) engagement activities -> reach against the
catchment population by group and channel, the seldom-heard groups, and the barrier themes
raised, coded against a documented taxonomy (``barriers.yaml``).
"""

from qi_equity.psychology.engagement import (CHANNELS, barrier_taxonomy, barriers_by_group, load_engagement,
                                             reach_by_channel, reach_vs_population, seldom_heard,
                                             validate_engagement)

__all__ = ["CHANNELS", "barrier_taxonomy", "load_engagement", "validate_engagement", "reach_vs_population",
           "reach_by_channel", "seldom_heard", "barriers_by_group"]
