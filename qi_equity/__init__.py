"""qi_equity: a collaborative-learning kit for NHS provider collaboratives to find and close
inequities of access to care.

Subpackages follow the four lenses of improvement science plus the shared layers:

- :mod:`qi_equity.variation` -- understanding variation (SPC, Anhøj runs, gaps, icons);
- :mod:`qi_equity.equity` -- equity statistics (intervals, ...);
- :mod:`qi_equity.data` -- the data contract, validation and the sample generator;
- :mod:`qi_equity.plotting` and :mod:`qi_equity.reports`.
"""

__version__ = "0.1.0"
