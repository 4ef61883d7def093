"""The registry: what the UI needs per task, with one source of truth for bounds."""

import dataclasses

import pytest

from core.tasks import registry
from core.tasks.params import TaskParamError
from core.tasks.registry import TASKS


def test_tasks_and_their_concurrency_groups():
    assert {key: spec.group for key, spec in TASKS.items()} == {
        "matmul": "A",
        "fractal": "B",
        "classifier": "A",
    }
    assert all(spec.key == key and spec.title and spec.description for key, spec in TASKS.items())


def test_get_returns_the_spec_and_names_known_tasks_when_missing():
    assert registry.get("fractal") is TASKS["fractal"]
    with pytest.raises(KeyError, match="known tasks: matmul, fractal, classifier"):
        registry.get("sort")


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_every_field_default_is_within_its_own_bounds(spec):
    names = [field.name for field in spec.fields]
    assert len(names) == len(set(names))
    for field in spec.fields:
        if field.kind == "choice":
            assert field.default in field.choices
        else:
            assert field.min <= field.default <= field.max
            assert field.step and field.step > 0


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_defaults_parse_into_params_with_the_same_values(spec, cpu):
    params = spec.parse(spec.defaults, cpu)
    assert dataclasses.asdict(params) == spec.defaults
    assert spec.parse({}, cpu) == params


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_parse_enforces_exactly_the_bounds_the_form_shows(spec, cpu):
    for field in spec.fields:
        if field.kind == "choice":
            continue
        for edge in (field.min, field.max):
            if spec.key == "matmul" and field.name == "n" and edge == field.max:
                continue  # 8192 float32 needs 768 MiB: fine here, but checked elsewhere
            assert getattr(spec.parse({field.name: edge}, cpu), field.name) == edge
        with pytest.raises(TaskParamError):
            spec.parse({field.name: field.max + field.step}, cpu)


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_numeric_bounds_share_one_type_per_field_as_number_inputs_require(spec):
    for field in spec.fields:
        if field.kind == "choice":
            assert field.min is field.max is field.step is None
            continue
        expected = int if field.kind == "int" else float
        bounds = (field.min, field.max, field.default, field.step)
        assert all(type(value) is expected for value in bounds), field.name
