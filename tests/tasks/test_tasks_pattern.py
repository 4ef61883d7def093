"""Pattern from a prompt: the prompt names the picture, progress comes band by band."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from core.tasks import pattern
from core.tasks.params import TaskParamError
from core.tasks.result import Image

TASK = pattern.TASK


def _picture(raw, device, progress=lambda fraction, message: None) -> np.ndarray:
    (image,) = TASK.fn(TASK.parse(raw, device), progress, device).of_kind(Image)
    return image.pixels


def test_the_same_prompt_gives_the_same_picture_and_another_prompt_another(cpu):
    raw = {"prompt": "a red kite", "size": 64, "detail": 2}
    first, again = _picture(raw, cpu), _picture(raw, cpu)
    other = _picture({**raw, "prompt": "a red kite!"}, cpu)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert pattern.prompt_seed("a red kite") == pattern.prompt_seed("a red kite")


@pytest.mark.parametrize("style", pattern.STYLES)
def test_every_style_paints_a_varied_picture_in_bands(style, cpu, progress_log):
    pixels = _picture({"style": style, "size": 128, "detail": 3}, cpu, progress_log)
    assert pixels.std() > 5, "a flat picture"
    assert len(progress_log.calls) == pattern.BANDS
    assert progress_log.fractions[-1] == 1.0


def test_hard_colours_fall_into_few_bands(cpu):
    soft = _picture({"size": 64, "soft": True}, cpu)
    hard = _picture({"size": 64, "soft": False}, cpu)
    assert len(np.unique(hard.reshape(-1, 3), axis=0)) < len(np.unique(soft.reshape(-1, 3), axis=0))


def test_the_cpu_allows_smaller_pictures_and_says_so_on_the_form(cpu):
    (size,) = [field for field in TASK.fields_for(cpu) if field.name == "size"]
    assert size.max == 768 and "On the CPU at most 768" in size.help
    with pytest.raises(TaskParamError, match=r"^Size \(pixels\) must be a whole number between"):
        TASK.parse({"size": 1024}, cpu)
    with pytest.raises(TaskParamError, match="^Prompt must be at most 120 characters"):
        TASK.parse({"prompt": "x" * 121}, cpu)


def test_the_result_is_a_png_named_after_the_prompt(cpu):
    result = TASK.fn(TASK.parse({"prompt": "Storm  over Sea", "size": 64}, cpu), print, cpu)
    (image,) = result.of_kind(Image)
    assert image.filename == "storm-over-sea.png"
    decoded = np.asarray(PILImage.open(io.BytesIO(image.png())))
    assert np.array_equal(decoded, image.pixels)
