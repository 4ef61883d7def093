"""Input validation: every refusal is one readable sentence naming the field."""

import math

import pytest

from core.tasks import registry
from core.tasks.params import FieldSpec, TaskParamError, parse_fields

TASKS = registry.tasks()

NUMERIC_FIELDS = [
    pytest.param(spec, field, id=f"{spec.key}.{field.name}")
    for spec in TASKS.values()
    for field in spec.fields
    if field.kind in ("int", "float")
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
        TaskParamError, match=r"^Matrix size must be a whole number between 64 and 2048\.$"
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
    assert "float32 or bfloat16" in str(refused.value)


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


def test_on_off_inputs_take_booleans_and_the_words_for_them():
    field = FieldSpec.switch("shout", "Shout", False)
    assert [field.parse(raw) for raw in (True, " On ", "yes", False, "off", "0")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(TaskParamError, match=r"^Shout must be on or off\.$"):
        field.parse("maybe")


def test_short_text_is_trimmed_capped_and_one_printable_line(user_sentence):
    field = FieldSpec.text("prompt", "Prompt", "sunset", max_length=10)
    assert field.parse("  a sea  ") == "a sea"
    for bad, ending in (
        ("x" * 11, "must be at most 10 characters long (it has 11)."),
        ("   ", "must not be empty."),
        ("two\nlines", "must be one line of printable characters."),
        (42, "must be text."),
    ):
        with pytest.raises(TaskParamError) as refused:
            field.parse(bad)
        user_sentence(str(refused.value), "Prompt")
        assert str(refused.value).endswith(ending)


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_image_is_decoded_and_capped_in_bytes_and_pixels(user_sentence):
    field = FieldSpec.image("photo", "Photo", max_bytes=50_000, max_pixels=100 * 100)
    pixels = field.parse(_png(40, 30))
    assert pixels.shape == (30, 40, 3) and pixels[0, 0].tolist() == [200, 10, 10]
    optional = FieldSpec.image("photo", "Photo", 50_000, 100 * 100, required=False)
    assert optional.parse(None) is None and parse_fields([optional], {}) == {"photo": None}
    with pytest.raises(TaskParamError, match="^Photo is needed: choose an image file to upload"):
        parse_fields([field], {})
    for bad, part in (
        (_png(101, 100), "at most 10,000 pixels (this one is 101 × 100)"),
        (b"\x00" * 60_000, "a file of at most 48.8 KiB"),
        (b"not an image", "a PNG, JPEG or WebP image"),
        ("photo.png", "an uploaded image"),
    ):
        with pytest.raises(TaskParamError) as refused:
            field.parse(bad)
        user_sentence(str(refused.value), "Photo")
        assert part in str(refused.value)


def test_a_refusal_names_its_field_so_the_form_can_place_it():
    fields = (
        FieldSpec.integer("a", "A", low=0, high=10, default=3),
        FieldSpec.text("b", "B", "x", max_length=3),
    )
    assert parse_fields(fields, {"a": 4, "b": "ok"}) == {"a": 4, "b": "ok"}
    with pytest.raises(TaskParamError) as refused:
        parse_fields(fields, {"a": 11})
    assert refused.value.field == "a"
    from core.tasks.params import field_problems

    assert field_problems(fields, {"a": 11, "b": "long"}) == {
        "a": "A must be a whole number between 0 and 10.",
        "b": "B must be at most 3 characters long (it has 4).",
    }
