"""Memory options: size strings, and the tile size a budget allows (it fits, and grows with the budget)."""

from __future__ import annotations

import pytest

from pfs2c2.errors import InputError
from pfs2c2.tiling import choose_tile_size, estimate_run_memory, format_bytes, parse_memory


def test_memory_sizes_are_read_with_their_unit():
    for bad in ("4", "lots", "-1GB", "4 parsecs"):
        with pytest.raises(InputError):
            parse_memory(bad)
    assert (
        parse_memory("4GB") == 4 * 10**9
        and parse_memory("512 MiB") == 512 * 2**20
        and parse_memory("1.5g") == 1_500_000_000
    )
    assert format_bytes(1536 * 2**20) == "1.5 GiB" and format_bytes(10) == "10 B"


def test_tile_size_from_the_budget_fits_and_grows_with_it():
    sizes = []
    for budget in ("2GB", "4GB", "8GB", "16GB"):
        for workers in (0, 2):
            t = choose_tile_size(parse_memory(budget), (750, 750), 3, 230, 8, workers=workers, overlap=8)
            assert estimate_run_memory((t * 3) ** 2, 230, 8, workers) <= parse_memory(budget)
            assert estimate_run_memory(((t + 1) * 3) ** 2, 230, 8, workers) > parse_memory(budget)
            if workers == 0:
                sizes.append(t)
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    with pytest.raises(InputError, match="too small"):
        choose_tile_size(parse_memory("300MB"), (750, 750), 3, 230, 8, overlap=8)
