"""The CUDA check (issue 15 item 5): the device-aware tests on the GPU, then one timed sampled fusion.

Meant for a machine with a CUDA GPU, within 8 minutes. Run from the repository root::

    python benchmarks/gpu_check.py                 # tests on cuda, then the 1026^2 x 198 scene, default preset
    python benchmarks/gpu_check.py --size 3000     # the issue's 3000^2 scene instead (a few minutes more)

It prints one JSON line per part (test outcome; wall time, training and inference seconds, PSNR/SAM of
the fused cube) and writes them to ``--out`` (default benchmarks/gpu_check.json). The CPU reference is
benchmarks/scene_scale.py on the same scene. This repository's development machine has no GPU: no GPU
figure in docs/benchmarks.md was measured unless this script's output is quoted there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1026)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pfs2c2-gpu"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "gpu_check.json")
    args = parser.parse_args()
    import torch

    records: list[dict[str, object]] = [
        {
            "part": "device",
            "cuda": torch.cuda.is_available(),
            "name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        }
    ]
    t0 = time.perf_counter()
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--device",
            args.device,
            "tests/scene",
            "tests/cli/test_fuse_sampled.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    records.append(
        {
            "part": "tests",
            "returncode": tests.returncode,
            "seconds": time.perf_counter() - t0,
            "tail": tests.stdout[-500:],
        }
    )
    print(json.dumps(records[-1]), flush=True)

    from pfs2c2.config import FusionConfig, RunOptions
    from pfs2c2.io import open_cube
    from pfs2c2.runs import output_meta, resolve_operators
    from pfs2c2.scene import fuse_scene
    from scene_scale import BANDS, build_scene, score

    lr, hr = build_scene(args.size, args.work / f"scene{args.size}")
    ops = resolve_operators(open_cube(lr).meta, open_cube(hr).meta, 198, srf_support="sentinel2a", bands=BANDS, ratio=3)
    meta = output_meta(open_cube(lr).meta, open_cube(hr).meta, ops.wavelengths)
    t0 = time.perf_counter()
    result = fuse_scene(
        lr,
        hr,
        args.work / "fused.tif",
        srf_support=ops.srf_support,
        meta=meta,
        config=FusionConfig(),
        run=RunOptions(device=args.device),
        overwrite=True,
    )
    wall = time.perf_counter() - t0
    records.append(
        {
            "part": "fuse_scene",
            "size": args.size,
            "device": result.device,
            "wall_s": wall,
            "timings": result.timings,
            **score(args.work / "fused.tif", args.size),
        }
    )
    print(json.dumps(records[-1]), flush=True)
    args.out.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
