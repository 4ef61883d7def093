"""Human-readable rates and sizes."""

from core.tasks.units import format_bytes, format_flops


def test_flop_rates_pick_the_unit_that_fits():
    assert format_flops(3.2e13) == "32.0 TFLOP/s"
    assert format_flops(5.25e9) == "5.2 GFLOP/s"
    assert format_flops(7e6) == "7.0 MFLOP/s"
    assert format_flops(12.0) == "12 FLOP/s"


def test_byte_counts_pick_the_unit_that_fits():
    assert format_bytes(3 * 1024**3) == "3.0 GiB"
    assert format_bytes(48 * 1024**2) == "48.0 MiB"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(10) == "10 bytes"
