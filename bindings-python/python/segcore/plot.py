"""Plots of insight reports, with matplotlib (``pip install segcore[plots]``): segment rates
with their intervals, and an overlap heatmap. Each returns the matplotlib ``Figure``; pass
``ax`` to draw into an existing one."""

from __future__ import annotations

from typing import Any


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install segcore[plots]") from None
    if ax is None:
        figure, ax = plt.subplots(figsize=size)
        return figure, ax
    return ax.figure, ax


def rates(kpis: Any, ax: Any = None, title: str | None = None) -> Any:
    """Each segment's estimate (a rate or a mean) with its interval, highest first, and the
    rest of the audience's estimate as a tick: from :meth:`segcore.Audience.kpis`."""
    rows = kpis.sort_values("estimate", ascending=True)
    figure, ax = _axes(ax, (7.0, 0.45 * len(rows) + 1.5))
    y = list(range(len(rows)))
    estimate = rows["estimate"].to_numpy(dtype=float)
    low = rows["low"].to_numpy(dtype=float)
    high = rows["high"].to_numpy(dtype=float)
    ax.errorbar(
        estimate, y, xerr=[estimate - low, high - estimate], fmt="o", capsize=3,
        label="segment (interval)",
    )
    ax.scatter(rows["rest_estimate"].to_numpy(dtype=float), y, marker="|", s=200,
               label="everyone else")
    ax.set_yticks(y, [str(s) for s in rows["segment"]])
    ax.set_xlabel("estimate")
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def overlap(matrix: Any, ax: Any = None, title: str | None = None) -> Any:
    """A heatmap of :meth:`segcore.Audience.overlap`'s matrix, each cell annotated."""
    n = len(matrix)
    figure, ax = _axes(ax, (1.0 * n + 2.5, 1.0 * n + 1.5))
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="Blues")
    names = [str(c) for c in matrix.columns]
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), [str(i) for i in matrix.index])
    integral = bool((values == values.round()).all())
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.0f}" if integral else f"{values[i, j]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=ax)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure
