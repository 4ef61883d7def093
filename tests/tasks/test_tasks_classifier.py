"""Classifier training: learns easy data, reproducible from its seed, data ready to plot."""

import numpy as np
import pytest
import torch

from core.tasks import classifier
from core.tasks.classifier import GRID_SIZE
from core.tasks.params import TaskParamError

EASY = {"samples": 400, "hidden": 32, "layers": 2, "epochs": 150, "learning_rate": 0.02}


@pytest.mark.parametrize("dataset", ["moons", "circles"])
def test_easy_data_is_learnt_well_above_chance(dataset, cpu, progress_log):
    result = classifier.train_classifier(
        classifier.parse({**EASY, "dataset": dataset}, cpu), progress_log, cpu
    )

    assert result.classes == 2
    assert result.test_accuracy > 0.9
    assert result.train_accuracy > 0.9
    assert len(result.loss_curve) == EASY["epochs"]
    assert result.loss_curve[-1] < 0.5 * result.loss_curve[0]


def test_default_spirals_are_learnt(cpu, progress_log):
    result = classifier.train_classifier(classifier.parse({}, cpu), progress_log, cpu)
    assert result.classes == 3
    assert result.train_accuracy > 0.9
    assert result.test_accuracy > 0.8


def test_result_arrays_are_ready_to_plot(cpu, progress_log):
    raw = {"dataset": "spirals", "arms": 4, "samples": 402, "epochs": 10}
    result = classifier.train_classifier(classifier.parse(raw, cpu), progress_log, cpu)

    assert result.points.shape == (400, 2)  # rounded down to balance the four classes
    assert result.points.dtype == np.float32
    assert np.bincount(result.labels).tolist() == [100] * 4
    assert result.is_test.sum() == 80
    assert result.grid_x.shape == result.grid_y.shape == (GRID_SIZE,)
    assert result.grid_class.shape == result.grid_confidence.shape == (GRID_SIZE, GRID_SIZE)
    assert set(np.unique(result.grid_class)) <= set(range(4))
    assert ((result.grid_confidence >= 0.25 - 1e-6) & (result.grid_confidence <= 1)).all()
    assert (
        result.grid_x[0]
        < result.points[:, 0].min()
        <= result.points[:, 0].max()
        < result.grid_x[-1]
    )


def test_grid_is_indexed_row_y_column_x(cpu, progress_log):
    raw = {**EASY, "dataset": "moons", "noise": 0.0}
    result = classifier.train_classifier(classifier.parse(raw, cpu), progress_log, cpu)
    column = np.abs(result.grid_x[None, :] - result.points[:, :1]).argmin(axis=1)
    row = np.abs(result.grid_y[None, :] - result.points[:, 1:]).argmin(axis=1)
    assert (result.grid_class[row, column] == result.labels).mean() > 0.9


def test_same_seed_same_run_and_other_seed_other_run(cpu, progress_log):
    raw = {"dataset": "spirals", "samples": 300, "epochs": 30}
    first = classifier.train_classifier(classifier.parse(raw, cpu), progress_log, cpu)
    again = classifier.train_classifier(classifier.parse(raw, cpu), progress_log, cpu)
    other = classifier.train_classifier(
        classifier.parse({**raw, "seed": 1}, cpu), progress_log, cpu
    )

    assert again.loss_curve == first.loss_curve
    assert np.array_equal(again.points, first.points)
    assert np.array_equal(again.grid_class, first.grid_class)
    assert other.loss_curve != first.loss_curve


def test_global_random_state_is_left_alone(cpu, progress_log):
    before = torch.random.get_rng_state()
    classifier.train_classifier(
        classifier.parse({"epochs": 10, "samples": 100}, cpu), progress_log, cpu
    )
    assert torch.equal(torch.random.get_rng_state(), before)


def test_networks_too_slow_to_cancel_promptly_are_refused_on_cpu_with_a_sample_budget(cpu):
    network = {"hidden": 512, "layers": 6}
    most = int(classifier.CPU_MAX_EPOCH_FLOP // (6 * classifier.parse(network, cpu).weights))
    assert classifier.parse({**network, "samples": most // 100 * 100}, cpu).hidden == 512
    with pytest.raises(TaskParamError) as refused:
        classifier.parse({**network, "samples": 20000}, cpu)
    assert str(refused.value) == (
        f"On the CPU, 6 hidden layers of width 512 can train on at most {most} samples, "
        "so that a run stops promptly when cancelled; use fewer samples or a smaller network."
    )


def test_trains_on_cuda(cuda, progress_log):
    result = classifier.train_classifier(
        classifier.parse({**EASY, "dataset": "moons"}, cuda), progress_log, cuda
    )
    assert result.device_name.endswith("(CUDA)")
    assert result.test_accuracy > 0.9
