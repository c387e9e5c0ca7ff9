"""Plots of qi_equity results. Every function draws a result, returns the figure, and
never changes matplotlib's global style; computation modules never import matplotlib."""

from qi_equity.plotting.funnel import plot_funnel
from qi_equity.plotting.matrix import plot_variation_matrix
from qi_equity.plotting.sii import plot_sii
from qi_equity.plotting.spc import describe, new_figure, plot_spc

__all__ = ["plot_spc", "plot_variation_matrix", "plot_funnel", "plot_sii", "describe", "new_figure"]
