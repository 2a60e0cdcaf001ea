"""Charts as matplotlib Figures (no pyplot state): metric panels with the incident window and onset marked."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure


def signals_chart(panels: Mapping[str, Mapping[str, pd.Series]], *, onset: pd.Timestamp | None = None,
                  window: tuple[pd.Timestamp, pd.Timestamp] | None = None, title: str = "") -> Figure:
    """One panel per entry of ``panels`` (panel title → {line label → series}); onset as a red line, the
    declared window shaded."""
    names = list(panels) or ["(no data)"]
    fig = Figure(figsize=(10, 2.0 * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        lines = panels.get(name, {})
        for label, series in lines.items():
            if len(series):
                ax.plot(series.index, series.to_numpy(dtype=float), lw=1.2, label=label)
        if not any(len(s) for s in lines.values()):
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="grey")
        if window is not None:
            ax.axvspan(window[0], window[1], color="tab:orange", alpha=0.06)
        if onset is not None:
            ax.axvline(onset, color="tab:red", lw=1.4, label="onset")
        ax.set_ylabel(name, fontsize=8)
        if len(lines) > 1 or onset is not None:
            ax.legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def counts_chart(frame: pd.DataFrame, *, time_col: str, group_col: str, value_col: str, top: int = 6,
                 onset: pd.Timestamp | None = None, title: str = "") -> Figure:
    """Counts over time for the ``top`` groups of a long frame (e.g. template counts per minute)."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    if frame.empty:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="grey")
    else:
        leaders = frame.groupby(group_col)[value_col].sum().nlargest(top).index
        for key in leaders:
            part = frame[frame[group_col] == key].sort_values(time_col)
            ax.plot(part[time_col], part[value_col], lw=1.2, label=str(key)[:60])
        ax.legend(fontsize=7, loc="upper left")
    if onset is not None:
        ax.axvline(onset, color="tab:red", lw=1.4)
    ax.set_title(title, fontsize=10)
    return fig
