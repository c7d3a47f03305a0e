"""What the subcommands share in printing: durations, whether a stream takes Unicode,
and the checks of output paths made before planning.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from rl_planners.interface.display import ASCII_ARROWS
from rl_planners.interface.environments import CLIError

__all__ = ["UNDEFINED", "check_plot_path", "check_save_path", "duration", "unicode_ok"]

UNDEFINED = "undefined (the policy does not always end the episode)"
"""How an expected return with no time limit reads when the policy may never end."""


def duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.2f} s"


def unicode_ok(stream: IO[str]) -> bool:
    """Whether ``stream`` can print arrows and ``±``."""
    try:
        ("".join(ASCII_ARROWS) + "±").encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def check_plot_path(path: str) -> Path:
    """Fail before planning if the figure could not be written."""
    from rl_planners.interface.plots import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    target = Path(path)
    suffix = target.suffix.lower().removeprefix(".")
    supported = Figure().canvas.get_supported_filetypes()
    if suffix and suffix not in supported:
        raise CLIError(
            f"--plot {path}: matplotlib cannot write .{suffix} files; use one of "
            f"{', '.join('.' + s for s in sorted(supported))}"
        )
    check_directory(target, "--plot")
    return target


def check_save_path(path: str) -> Path:
    target = Path(path)
    check_directory(target, "--save")
    return target


def check_directory(target: Path, flag: str) -> None:
    """Raise :class:`CLIError` unless ``target``'s directory exists."""
    if not target.parent.is_dir():
        raise CLIError(f"{flag} {target}: the directory {target.parent} does not exist")
