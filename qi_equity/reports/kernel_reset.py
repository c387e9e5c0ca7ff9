"""Run inside a warm report kernel before each notebook: give it the state of a new kernel.

Kept out of the user namespace (called as an expression, so it leaves no name behind).
"""

from __future__ import annotations

import gc
import os
import sys

from IPython import get_ipython


def reset(cwd: str) -> None:
    """Clear the user namespace as ``%reset -f`` does, restore the working folder ``cwd`` and
    close every pyplot figure.

    IPython's reset also runs a full garbage collection (``DisplayHook.flush``), about 0.15 s
    in a kernel holding pandas and matplotlib; it is skipped here: nothing the next notebook
    sees depends on it, and Python's automatic collector frees the previous report's cycles.
    """
    ip = get_ipython()
    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        ip.reset(new_session=False)
    finally:
        gc.collect = collect
    os.chdir(cwd)
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
