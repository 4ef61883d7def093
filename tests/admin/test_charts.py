"""The charts: one readable panel per group, from 1 to 20 groups, lines kept exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.metrics import OccupancyPoint
from core.ui.admin.charts import occupancy_figure, queue_figure

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
END = T0 + timedelta(minutes=15)


def _series(groups: int, values: list[tuple[int, int]]) -> dict[str, list[OccupancyPoint]]:
    return {
        f"G{g}": [
            OccupancyPoint(T0 + timedelta(seconds=i), running, queued, 2)
            for i, (running, queued) in enumerate(values)
        ]
        for g in range(groups)
    }


def _panels(figure) -> dict[str, str]:
    """Panel title -> its x axis name ("x", "x2", ...)."""
    titles = [a.text for a in figure.layout.annotations]
    return {title: "x" if i == 0 else f"x{i + 1}" for i, title in enumerate(titles)}


@pytest.mark.parametrize("groups", [1, 2, 7, 20])
def test_every_group_gets_its_own_non_overlapping_panel(groups):
    figure = occupancy_figure(_series(groups, [(0, 0), (1, 0)]), T0, END)
    assert len(_panels(figure)) == groups
    boxes = []
    for i in range(groups):
        suffix = "" if i == 0 else str(i + 1)
        x = figure.layout[f"xaxis{suffix}"].domain
        y = figure.layout[f"yaxis{suffix}"].domain
        assert 0 <= x[0] < x[1] <= 1 and 0 <= y[0] < y[1] <= 1
        boxes.append((x, y))
    for a in range(groups):
        for b in range(a + 1, groups):
            (ax, ay), (bx, by) = boxes[a], boxes[b]
            overlap = ax[0] < bx[1] and bx[0] < ax[1] and ay[0] < by[1] and by[0] < ay[1]
            assert not overlap, (a, b)
    assert figure.layout.height >= 150 * ((groups + 3) // 4)


def test_groups_are_in_natural_order():
    series = {name: [OccupancyPoint(T0, 0, 0, 1)] for name in ("G10", "b", "G2", "A")}
    titles = [a.text for a in queue_figure(series, T0, END).layout.annotations]
    assert titles == ["Group A", "Group b", "Group G2", "Group G10"]


def test_a_step_line_keeps_only_its_changes_and_its_end():
    values = [(0, 0)] * 5 + [(1, 2)] * 5 + [(0, 0)] * 5
    figure = occupancy_figure(_series(1, values), T0, END)
    running = next(t for t in figure.data if t.name == "running")
    assert list(running.y) == [0, 1, 0, 0]
    assert [x.second for x in running.x] == [0, 5, 10, 14]
    assert running.line.shape == "hv"
    limit = next(t for t in figure.data if t.name == "limit")
    assert list(limit.y) == [2, 2] and limit.line.dash == "dash"
    queued = queue_figure(_series(1, values), T0, END).data[0]
    assert list(queued.y) == [0, 2, 0, 0]


def test_the_legend_is_shown_once():
    figure = occupancy_figure(_series(3, [(1, 0)]), T0, END)
    assert [t.name for t in figure.data if t.showlegend] == ["running", "limit"]


def test_a_panel_title_shows_a_name_with_tags_as_text():
    """Plotly reads <a href>, <b> and entities in text; a name from code or SQL may hold them."""
    name = '<a href="javascript:alert(1)">x</a> & <b>y</b>'
    series = {name: [OccupancyPoint(T0, 0, 0, 1)]}
    (title,) = [a.text for a in occupancy_figure(series, T0, END).layout.annotations]
    assert title == (
        "Group &lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt; &amp; &lt;b&gt;y&lt;/b&gt;"
    )
