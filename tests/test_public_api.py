"""What users imported and typed in 0.1.0 still works after the reorganisation.

tests/data/public_names_0.1.0.json lists the public names of each 0.1.0 module (read from the
sources at commit 4b0091a) and tests/data/cli_flags_0.1.0.json every command and flag of the CLI.
The few names that were removed on purpose are listed below with where they went (CHANGELOG.md).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
PUBLIC_NAMES = json.loads((DATA / "public_names_0.1.0.json").read_text())
CLI_FLAGS = json.loads((DATA / "cli_flags_0.1.0.json").read_text())

REMOVED = {
    "pfs2c2.fusion": [
        "to_chw",
        "infer_ratio",
        "check_srf",
        "RETRAIN_STAGE",
        "FINISHED",
    ],  # -> _checks, model.stages.Stage
    "pfs2c2.physics": ["check_psf", "BlurDownsample", "SpectralProject"],  # -> _checks; model.modules.SpatialDown
    "pfs2c2.masks": ["masked_l1"],  # -> model.losses
    "pfs2c2.tiling": ["TileProgress", "cube_shape"],  # -> cli.progress; io.open_cube
}


@pytest.mark.parametrize("module", sorted(PUBLIC_NAMES))
def test_public_names_of_0_1_0_still_import(module):
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC_NAMES[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lost {missing}"


def test_top_level_api():
    import pfs2c2

    for name in pfs2c2.__all__:
        assert getattr(pfs2c2, name) is not None
    assert {"fuse", "FusionConfig", "FusionResult", "RunOptions", "simulate", "evaluate", "InputError"} <= set(
        pfs2c2.__all__
    )
    with pytest.raises(AttributeError):
        pfs2c2.no_such_name  # noqa: B018


@pytest.mark.parametrize("module,names", sorted(REMOVED.items()))
def test_removed_names_are_gone(module, names):
    """Removed names stay removed (one home each); the list above says where they went."""
    imported = importlib.import_module(module)
    assert [name for name in names if hasattr(imported, name)] == []


def test_every_cli_command_and_flag_of_0_1_0_exists():
    from pfs2c2.cli import cli

    for key, expected in CLI_FLAGS.items():
        name, _, kind = key.partition(":")
        assert name in cli.commands, f"command {name} is gone"
        params = cli.commands[name].params
        if kind == "args":
            assert [p.name for p in params if not any(o.startswith("-") for o in p.opts)] == expected
        else:
            flags = {o for p in params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
            assert set(expected) <= flags, f"{name} lost {sorted(set(expected) - flags)}"
