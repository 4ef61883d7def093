"""Human-readable quantities for messages shown to users."""

_FLOP_RATE_UNITS = ((1e12, "TFLOP/s"), (1e9, "GFLOP/s"), (1e6, "MFLOP/s"))
_BYTE_UNITS = ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))


def format_flops(flop_per_s: float) -> str:
    """Format a rate such as 3.2e13 as "32.0 TFLOP/s", picking the unit that fits."""
    for scale, unit in _FLOP_RATE_UNITS:
        if flop_per_s >= scale:
            return f"{flop_per_s / scale:.1f} {unit}"
    return f"{flop_per_s:.0f} FLOP/s"


def format_bytes(size: int) -> str:
    """Format a byte count such as 3 * 2**30 as "3.0 GiB"."""
    for scale, unit in _BYTE_UNITS:
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
