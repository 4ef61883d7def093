"""Input validation: every refusal is one readable sentence naming the field."""

import math

import pytest

from core.tasks.params import FieldSpec, TaskParamError, parse_fields
from core.tasks.registry import TASKS

NUMERIC_FIELDS = [
    pytest.param(spec, field, id=f"{spec.key}.{field.name}")
    for spec in TASKS.values()
    for field in spec.fields
    if field.kind != "choice"
]

BAD_NUMBERS = {
    "empty": "",
    "blank": "   ",
    "negative": -1_000_000,
    "huge": 10**12,
    "huge text": "1e400",
    "not a number": "abc",
    "underscore": "1_0",
    "nan": math.nan,
    "nan text": "nan",
    "inf": math.inf,
    "minus inf": -math.inf,
    "true": True,
    "false": False,
    "none": None,
    "list": [1],
}


@pytest.mark.parametrize("bad", list(BAD_NUMBERS.values()), ids=list(BAD_NUMBERS))
@pytest.mark.parametrize(("spec", "field"), NUMERIC_FIELDS)
def test_numeric_fields_refuse_bad_values_with_a_sentence(spec, field, bad, cpu, user_sentence):
    with pytest.raises(TaskParamError) as refused:
        spec.parse({field.name: bad}, cpu)
    user_sentence(str(refused.value), field.label)
    assert "between" in str(refused.value)


@pytest.mark.parametrize(("spec", "field"), NUMERIC_FIELDS)
def test_numeric_fields_refuse_just_outside_their_bounds(spec, field, cpu):
    for outside in (field.min - field.step, field.max + field.step):
        with pytest.raises(TaskParamError):
            spec.parse({field.name: outside}, cpu)


def test_matrix_size_message_reads_as_documented(cpu):
    with pytest.raises(
        TaskParamError, match=r"^Matrix size must be a whole number between 64 and 8192\.$"
    ):
        TASKS["matmul"].parse({"n": "-64"}, cpu)


def test_whole_number_fields_refuse_fractions(cpu):
    with pytest.raises(TaskParamError, match="Repeats must be a whole number"):
        TASKS["matmul"].parse({"repeats": 2.5}, cpu)


@pytest.mark.parametrize("bad", ["int8", "", "FLOAT64", 32, None])
def test_unknown_dtype_is_refused_with_the_choices(bad, cpu, user_sentence):
    with pytest.raises(TaskParamError) as refused:
        TASKS["matmul"].parse({"dtype": bad}, cpu)
    user_sentence(str(refused.value), "Data type")
    assert "float32, float16 or bfloat16" in str(refused.value)


def test_unknown_choices_are_refused_for_every_task(cpu):
    with pytest.raises(TaskParamError, match="^Fractal must be one of mandelbrot or julia"):
        TASKS["fractal"].parse({"kind": "sierpinski"}, cpu)
    with pytest.raises(TaskParamError, match="^Data set must be one of spirals, moons or circles"):
        TASKS["classifier"].parse({"dataset": "iris"}, cpu)


def test_unknown_setting_names_are_refused(cpu):
    with pytest.raises(TaskParamError, match="no setting called 'size'"):
        TASKS["matmul"].parse({"size": 512}, cpu)


def test_numbers_may_arrive_as_text_or_whole_floats(cpu):
    params = TASKS["matmul"].parse({"n": " 512 ", "repeats": 4.0, "dtype": " BFloat16"}, cpu)
    assert (params.n, params.repeats, params.dtype) == (512, 4, "bfloat16")
    assert isinstance(params.repeats, int)
    assert TASKS["classifier"].parse({"learning_rate": "1e-3"}, cpu).learning_rate == 0.001


def test_missing_fields_take_their_defaults():
    fields = (FieldSpec.integer("a", "A", low=0, high=10, default=3),)
    assert parse_fields(fields, {}) == {"a": 3}


def test_bounds_are_written_the_way_people_write_numbers():
    field = FieldSpec.number("lr", "Learning rate", low=0.0001, high=1.0, default=0.01, step=0.001)
    with pytest.raises(TaskParamError, match=r"between 0\.0001 and 1\.$"):
        field.parse(5)
