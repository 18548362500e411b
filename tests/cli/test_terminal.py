"""What the commands print: the training bars' names and the metric line."""

from __future__ import annotations

from pfs2c2.cli.terminal import StageProgress, format_metrics


def test_progress_names_the_run_of_an_ensemble():
    progress, seen = StageProgress(runs=2), []
    for stage in (1, 2, 3, 1, 2, 3):
        progress(stage, 1, 10, 0.5)
        seen.append(progress.desc)
    progress.close()
    assert seen[0] == "run 1/2, stage 1/3" and seen[3] == "run 2/2, stage 1/3" and seen[5] == "run 2/2, stage 3/3"
    single = StageProgress()
    single(1, 1, 10, 0.5)
    single.close()
    assert single.desc == "stage 1/3"


def test_metric_line_has_units_and_four_digits():
    assert (
        format_metrics({"psnr": 40.123456, "sam": 1.5, "ergas": 0.98765}) == "PSNR 40.12 dB  SAM 1.5 deg  ERGAS 0.9877"
    )
