"""The registry: tasks are found in their modules, declared once, with one source of bounds."""

import sys

import pytest

from core.tasks import registry
from core.tasks.params import TaskParamError
from core.tasks.task import TaskSpec

TASKS = registry.tasks()


def test_every_built_in_task_module_is_found_with_its_declaration():
    import core.tasks.classifier
    import core.tasks.fractal
    import core.tasks.matmul

    for module in (core.tasks.matmul, core.tasks.fractal, core.tasks.classifier):
        assert TASKS[module.TASK.key] is module.TASK
    assert all(spec.key == key and spec.title and spec.description for key, spec in TASKS.items())
    assert {TASKS[key].group for key in ("matmul", "fractal", "classifier")} == {"A", "B"}


def test_get_returns_the_spec_and_names_known_tasks_when_missing():
    assert registry.get("fractal") is TASKS["fractal"]
    with pytest.raises(KeyError, match="known tasks: .*fractal.*matmul"):
        registry.get("sort")


def test_modules_named_in_the_environment_are_added_after_the_built_in_ones():
    names = registry.configured_names({registry.TASK_MODULES_VARIABLE: " a.b , c ,"})
    assert names == ("core.tasks", "a.b", "c")
    found = registry.discover(["core.tasks", "tests.fixtures.tasks_extra"])
    assert list(found)[: len(TASKS)] == list(TASKS)
    assert "echo" in found


def test_a_key_declared_twice_is_refused_naming_both_modules(tmp_path, monkeypatch):
    package = tmp_path / "twice"
    package.mkdir()
    (package / "__init__.py").write_text("")
    declaration = "from core.tasks.matmul import TASK\n"
    (package / "copy.py").write_text(declaration)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.TaskDefinitionError, match="both core.tasks.matmul and twice"):
        registry.discover(["core.tasks", "twice"])
    sys.modules.pop("twice.copy", None)
    sys.modules.pop("twice", None)


def test_a_module_that_cannot_be_imported_is_named():
    with pytest.raises(registry.TaskDefinitionError, match="no_such_tasks cannot be imported"):
        registry.discover(["no_such_tasks"])


def test_a_task_without_checks_of_its_own_parses_into_its_fields_values(cpu):
    spec = TaskSpec("t", "T", "d", "A", TASKS["matmul"].fields, fn=lambda *args: None)
    assert spec.parse({"n": "256"}, cpu) == {"n": 256, "dtype": "float32", "repeats": 10}


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_every_field_default_is_within_its_own_bounds(spec):
    names = [field.name for field in spec.fields]
    assert len(names) == len(set(names))
    for field in spec.fields:
        if field.kind in ("int", "float"):
            assert field.min <= field.default <= field.max
            assert field.step and field.step > 0
        else:
            assert field.parse(field.default) == field.default


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_defaults_parse_into_params_with_the_same_values(spec, cpu):
    params = spec.parse(spec.defaults, cpu)
    assert spec.settings(params) == spec.defaults
    assert spec.parse({}, cpu) == params


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_parse_enforces_exactly_the_bounds_the_form_shows(spec, cpu):
    for field in spec.fields_for(cpu):
        if field.kind not in ("int", "float"):
            continue
        for edge in (field.min, field.max):
            assert spec.settings(spec.parse({field.name: edge}, cpu))[field.name] == edge
        with pytest.raises(TaskParamError):
            spec.parse({field.name: field.max + field.step}, cpu)


@pytest.mark.parametrize("spec", TASKS.values(), ids=TASKS)
def test_numeric_bounds_share_one_type_per_field_as_number_inputs_require(spec):
    for field in spec.fields:
        if field.kind not in ("int", "float"):
            assert field.step is None
            continue
        expected = int if field.kind == "int" else float
        bounds = (field.min, field.max, field.default, field.step)
        assert all(type(value) is expected for value in bounds), field.name
