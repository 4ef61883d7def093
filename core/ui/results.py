"""How a run ended, on the page: the task's result with wait and run times, or one sentence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.tasks.classifier import ClassifierResult
from core.tasks.fractal import FractalResult
from core.tasks.matmul import MatmulResult
from core.tasks.registry import TaskSpec
from core.tasks.units import format_flops
from core.ui import result_charts
from core.ui.outcome import Outcome
from core.ui.wording import duration, plain, settings_line


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


def timings_line(outcome: Outcome) -> str:
    """E.g. "Waited 2.1 s for a slot in group A · ran 1.4 s on CPU (2 threads)"."""
    assert outcome.wait_s is not None and outcome.run_s is not None
    return (
        f"Waited {duration(outcome.wait_s)} for a slot in group {plain(outcome.group)} · "
        f"ran {duration(outcome.run_s)} on {plain(outcome.device)}"
    )


def show_outcome(spec: TaskSpec, outcome: Outcome) -> None:
    """The result of a succeeded run, or the sentence that says why there is none."""
    if outcome.status == "succeeded":
        st.subheader("Result")
        st.caption(timings_line(outcome))
        st.caption(plain(settings_line(spec.fields, outcome.settings)))
        RESULT_VIEWS[spec.key](outcome.result)
    elif outcome.status == "cancelled":
        st.info(plain(outcome.message), icon=":material/stop_circle:")
    elif outcome.status == "refused":
        st.warning(plain(outcome.message), icon=":material/block:")
    else:
        st.error(plain(outcome.message), icon=":material/error:")
