"""Every task reports progress in order and stops cleanly when the callback raises."""

import pytest

from core.tasks import registry

TASKS = registry.tasks()


@pytest.mark.parametrize("key", TASKS)
def test_progress_fractions_never_decrease_and_end_at_one(key, cpu, progress_log, small_params):
    spec = TASKS[key]
    spec.fn(spec.parse(small_params[key], cpu), progress_log, cpu)

    fractions = progress_log.fractions
    assert len(fractions) >= 3
    assert fractions == sorted(fractions)
    assert 0.0 <= fractions[0]
    assert fractions[-1] == 1.0
    assert all(isinstance(message, str) and message for _, message in progress_log.calls)


@pytest.mark.parametrize("key", TASKS)
def test_exception_from_progress_stops_the_task_and_propagates_unchanged(
    key, cpu, small_params, cancel_on_call, leftover_device_state
):
    spec = TASKS[key]
    cancel = cancel_on_call(2)
    with pytest.raises(type(cancel.error)) as stopped:
        spec.fn(spec.parse(small_params[key], cpu), cancel, cpu)

    assert stopped.value is cancel.error
    assert cancel.calls == 2
    assert leftover_device_state(stopped.value) == []
