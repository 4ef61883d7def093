"""How a run ended, on the page: the task's result with wait and run times, or one sentence.

Results are decoded from the database each time they are shown and never
kept in ``st.session_state``: a session holds run ids, so a closed tab
leaves nothing big behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.app import App
from core.run_watch import RunView
from core.tasks.classifier import ClassifierResult
from core.tasks.fractal import FractalResult
from core.tasks.matmul import MatmulResult
from core.tasks.registry import TaskSpec
from core.tasks.units import format_flops
from core.ui import result_charts
from core.ui.wording import duration, plain, settings_line
from core.worker import codec
from core.worker import store as worker_store


def show_matmul_result(result: MatmulResult) -> None:
    best, mean, fastest = st.columns(3)
    best.metric("Best", format_flops(result.best_flops))
    mean.metric("Mean", format_flops(result.mean_flops))
    fastest.metric("Fastest product", f"{min(result.seconds_per_product) * 1e3:.3g} ms")
    st.plotly_chart(result_charts.matmul_timings(result))
    st.caption(
        f"{result.products_per_repeat} product(s) per repeat · "
        f"error against float64: {result.relative_error:.1e}"
    )


def show_fractal_result(result: FractalResult) -> None:
    height, width = result.image.shape[:2]
    st.image(
        result.image,
        caption=(
            f"{result.kind.capitalize()} set, {width} × {height} pixels, "
            f"{result.max_iter} iterations · {result.inside_fraction:.1%} of pixels inside · "
            f"{result.precision} · {result.tiles} tile(s)"
        ),
        output_format="PNG",  # lossless: JPEG smears the fine detail fractals are made of
    )


def show_classifier_result(result: ClassifierResult) -> None:
    train, test, loss = st.columns(3)
    train.metric("Training accuracy", f"{result.train_accuracy:.1%}")
    test.metric("Held-out accuracy", f"{result.test_accuracy:.1%}")
    loss.metric("Final loss", f"{result.loss_curve[-1]:.4f}")
    curve, boundary = st.columns(2)
    with curve:
        st.plotly_chart(result_charts.classifier_loss(result))
    with boundary:
        st.plotly_chart(result_charts.classifier_boundary(result))
        st.caption(
            "Shading: the class the model predicts there. Dots: training points; "
            "crosses: held-out points, which the model never trained on."
        )


RESULT_VIEWS: dict[str, Callable[[Any], None]] = {
    "matmul": show_matmul_result,
    "fractal": show_fractal_result,
    "classifier": show_classifier_result,
}


def timings_line(view: RunView) -> str:
    """E.g. "Waited 2.1 s for a slot in group A · ran 1.4 s on CPU (2 threads)"."""
    assert view.started_at is not None and view.finished_at is not None
    waited = (view.started_at - view.enqueued_at).total_seconds()
    ran = (view.finished_at - view.started_at).total_seconds()
    where = f" on {plain(view.device)}" if view.device else ""
    return (
        f"Waited {duration(max(waited, 0.0))} for a slot in group {plain(view.group)} · "
        f"ran {duration(max(ran, 0.0))}{where}"
    )


def load_result(app: App, run_id: str) -> Any:
    """The stored result of a run, decoded now; None if there is none."""
    with app.runs_db.read() as connection:
        content = worker_store.result_of(connection, run_id)
    return None if content is None else codec.decode(content)


def show_run_outcome(app: App, spec: TaskSpec | None, view: RunView) -> None:
    """A finished run: its result with times and settings, or the sentence that says why not."""
    if view.status == "succeeded":
        st.subheader("Result")
        st.caption(timings_line(view))
        if spec is not None:
            st.caption(plain(settings_line(spec.fields, view.params)))
        result = load_result(app, view.id)
        view_of = RESULT_VIEWS.get(view.task)
        if result is None or view_of is None:
            st.info("This run left no result to show.", icon=":material/info:")
        else:
            view_of(result)
    elif view.status == "cancelled":
        st.info(plain(view.error or "The run was cancelled."), icon=":material/stop_circle:")
    elif view.status in ("rejected", "timed_out"):
        st.warning(plain(view.error or "The run was refused."), icon=":material/block:")
    else:
        st.error(plain(view.error or "The run did not finish."), icon=":material/error:")
