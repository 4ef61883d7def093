"""Stored results decode only to known types; the worker settings refuse what cannot work."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from core.settings import SettingsError, load_settings
from core.tasks.fractal import FractalResult
from core.worker import codec


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_result_with_numpy_arrays_round_trips_exactly():
    image = np.arange(64 * 48 * 3, dtype=np.uint8).reshape(48, 64, 3)
    result = FractalResult(
        image=image,
        kind="mandelbrot",
        max_iter=32,
        inside_fraction=0.25,
        precision="float32",
        tiles=2,
        elapsed_s=0.1,
        device_name="CPU",
    )
    back = codec.decode(codec.encode(result, 10**7))
    assert back.kind == "mandelbrot" and np.array_equal(back.image, image)


def test_a_stored_result_cannot_name_a_callable_to_run():
    with pytest.raises(codec.ResultUnreadable, match="posix.system|os.system"):
        codec.decode(pickle.dumps(_Evil()))


def test_a_result_over_the_cap_is_refused_with_its_size():
    with pytest.raises(codec.ResultTooLarge, match="more than the 0.0 MB"):
        codec.encode(b"x" * 5000, 1024)


def test_external_workers_share_the_queue_through_the_database_alone():
    assert load_settings({"TASKGATE_WORKERS": "external"}).workers == "external"
    with pytest.raises(SettingsError, match="TASKGATE_WORKERS"):
        load_settings({"TASKGATE_WORKERS": "elsewhere"})


def test_a_result_with_a_table_and_a_figure_round_trips():
    import pandas as pd
    import plotly.graph_objects as go

    from core.tasks.result import Figure, Metric, Table, TaskResult

    result = TaskResult(
        (
            Metric("Best", "1 s"),
            Table(pd.DataFrame({"run": [1, 2], "s": [1.5, 2.5]}), caption="runs"),
            Figure(go.Figure(go.Bar(y=[3, 4])), caption="bars"),
        )
    )
    back = codec.decode(codec.encode(result, 10**7))
    assert back.parts[0] == result.parts[0]
    assert back.parts[1].rows.to_dict() == result.parts[1].rows.to_dict()
    assert list(back.parts[2].figure.data[0].y) == [3, 4]
