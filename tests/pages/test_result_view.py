"""The generic result view draws every kind of part, in order, with text kept as text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.ui.wording import plain


def _every_part() -> None:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    from core.tasks.result import Figure, Image, Metric, Row, Table, TaskResult, Text
    from core.ui.result_view import show_result

    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    result = TaskResult(
        (
            Metric("Best", "1 s"),
            Metric("Worst", "2 s", help="slowest"),
            Text("Typed by *someone* [link](http://x)"),
            Table(pd.DataFrame({"run": [1, 2], "s": [1.0, 2.0]}), caption="Every run"),
            Row((Figure(go.Figure(go.Bar(y=[1, 2]))), Image(pixels, caption="dark"))),
            Text("a note", style="note"),
        )
    )
    show_result(result, key="t")


def test_every_part_is_drawn_in_order_with_downloads():
    at = AppTest.from_function(_every_part).run()
    assert not at.exception, at.exception
    assert [(metric.label, metric.value) for metric in at.metric] == [
        ("Best", "1 s"),
        ("Worst", "2 s"),
    ]
    assert at.markdown[0].value == plain("Typed by *someone* [link](http://x)")
    assert at.dataframe[0].value["s"].tolist() == [1.0, 2.0]
    assert [caption.value for caption in at.caption] == ["Every run", "a note"]
    assert len(at.get("plotly_chart")) == 1
    (image,) = at.get("image")
    assert image.proto.imgs[0].caption == "dark"
    (download,) = at.get("download_button")
    assert download.proto.label == "Download PNG"
