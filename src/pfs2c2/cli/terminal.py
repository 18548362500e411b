"""What the commands print besides errors: metric lines, warnings, notes and the training bars."""

from __future__ import annotations

from typing import Any

import click


def format_metrics(scores: dict[str, float]) -> str:
    """``PSNR 40.1 dB  SAM 1.2 deg  ...``: one line, 4 significant digits."""
    units = {"sam": " deg", "psnr": " dB"}
    return "  ".join(f"{k.upper()} {v:.4g}{units.get(k, '')}" for k, v in scores.items())


def warn(message: str) -> None:
    """``warning: MESSAGE`` on stderr (the :data:`pfs2c2.runs.Warn` of the commands)."""
    click.echo(f"warning: {message}", err=True)


def note(message: str) -> None:
    """``note: MESSAGE`` on stderr."""
    click.echo(f"note: {message}", err=True)


def echo_err(line: str) -> None:
    """One line on stderr (progress lines of tiled runs)."""
    click.echo(line, err=True)


class StageProgress:
    """tqdm bars, one per stage (and per run of an ensemble); silent when stderr is not a terminal.

    A :data:`pfs2c2.fusion.ProgressCallback`: ``progress(stage, iteration, total, loss)``.
    """

    def __init__(self, runs: int = 1) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.bar: Any = None
        self.stage = 0
        self.runs, self.run = runs, 0
        self.desc = ""

    def __call__(self, stage: int, iteration: int, total: int, loss: float) -> None:
        if stage != self.stage:
            self.close()
            if stage < self.stage:  # the next run of an ensemble starts
                self.run += 1
            self.stage = stage
            self.desc = f"stage {stage}/3" if stage <= 3 else "stage 3, all pixels"
            if self.runs > 1:
                self.desc = f"run {self.run + 1}/{self.runs}, {self.desc}"
            self.bar = self._tqdm(total=total, desc=self.desc, unit="it", disable=None, leave=True)
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix(loss=f"{loss:.3e}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
