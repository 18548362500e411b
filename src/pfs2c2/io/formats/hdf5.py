"""HDF5 / netCDF-4 through h5py: ``FILE.h5:/group/dataset`` selects a dataset, automatic when the file
holds exactly one 3-D numeric dataset.

Axis order is ``(H, W, C)`` unless the dataset says otherwise, through (first match) an attribute
``layout``/``axes``/``dimension_order`` (letters such as ``"CHW"`` or names such as ``"bands,rows,cols"``),
an attribute ``interleave`` (``bsq`` = CHW, ``bil`` = HCW, ``bip`` = HWC), or netCDF dimension names
(``band``/``wavelength`` = C, ``y``/``row``/``line`` = H, ``x``/``col``/``sample`` = W). Wavelengths come from
the dataset attribute ``wavelength(s)`` or a 1-D dataset named ``wavelength(s)`` with C entries anywhere in
the file; ``crs``, ``transform``, ``nodata``/``_FillValue``, ``scale_factor``/``add_offset`` (CF) attributes
are honoured. netCDF-3 classic files are not supported.

Writing: dataset ``/fused`` ``(H, W, C)`` float32 (gzip, chunked) with attributes ``layout="HWC"``,
``wavelength``, ``fwhm``, ``wavelength_units="nm"``, ``crs``, ``transform``, ``nodata``, ``band_names``,
``units``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._common import as_str, parse_float_list, short_reason
from ..meta import RasterMeta
from ._shared import (
    FWHM_NAMES,
    WL_NAMES,
    CubeFormat,
    CubeProbe,
    Window,
    apply_scale,
    band_names,
    check_cube_array,
    check_matrix,
    check_window,
    dims_error,
    fwhm_nm,
    scale_record,
    select_variable,
    to_float32_chw,
    vector_lookup,
    window_transform,
    wl_nm,
)

__all__ = ["HDF5", "read_matrix", "write_h5"]

_AXIS_WORDS = {
    "C": {
        "c", "b", "z", "band", "bands", "channel", "channels", "wavelength", "wavelengths",
        "spectral", "spectrum", "lambda", "bsq_band",
    },
    "H": {
        "h", "y", "row", "rows", "line", "lines", "height", "lat", "latitude", "downtrack",
        "along_track", "northing",
    },
    "W": {
        "w", "x", "col", "cols", "column", "columns", "sample", "samples", "width", "lon",
        "longitude", "crosstrack", "cross_track", "easting",
    },
}  # fmt: skip
_INTERLEAVE = {"bsq": "CHW", "bil": "HCW", "bip": "HWC"}


# ==================================================================================================
# Axis order
# ==================================================================================================
def _axis_letter(word: str) -> str | None:
    w = word.strip().lower()
    for letter, words in _AXIS_WORDS.items():
        if w in words:
            return letter
    for letter, words in _AXIS_WORDS.items():  # e.g. "number_of_bands", "bands_dim"
        if len(w) > 3 and any(len(x) > 3 and x in w for x in words):
            return letter
    return None


def _parse_layout(text: str | None) -> str | None:
    if not text:
        return None
    s = text.strip()
    if s.lower() in _INTERLEAVE:
        return _INTERLEAVE[s.lower()]
    tokens = [t for t in re.split(r"[\s,;()\[\]*]+", s) if t] if re.search(r"[\s,;]", s) else None
    if tokens is None:
        tokens = list(s) if len(s) == 3 else [s]
    letters = [_axis_letter(t) for t in tokens]
    if len(letters) == 3 and None not in letters and len(set(letters)) == 3:
        return "".join(letters)  # type: ignore[arg-type]
    return None


def _h5_layout(ds: Any) -> str:
    """Axis order of a 3-D dataset as a permutation of ``"HWC"`` (default ``"HWC"``)."""
    for key in ("layout", "axes", "dimension_order", "dims", "interleave"):
        if key in ds.attrs:
            lay = _parse_layout(as_str(ds.attrs[key]))
            if lay is not None:
                return lay
            raise InputError(
                f"{ds.file.filename}:{ds.name}: cannot understand the {key!r} attribute "
                f"{as_str(ds.attrs[key])!r}; use a permutation of 'HWC' such as 'CHW'"
            )
    try:  # netCDF-4 / HDF5 dimension scales
        names = []
        for dim in ds.dims:
            scales = list(dim.values())
            label = dim.label or (scales[0].name.split("/")[-1] if scales else "")
            names.append(label)
        letters = [_axis_letter(n) if n else None for n in names]
        if None not in letters and len(set(letters)) == 3:
            return "".join(letters)  # type: ignore[arg-type]
        if letters.count("C") == 1:
            rest = [i for i, letter in enumerate(letters) if letter != "C"]
            out = ["?"] * 3
            out[letters.index("C")] = "C"
            out[rest[0]], out[rest[1]] = "H", "W"
            return "".join(out)
    except Exception:
        pass
    return "HWC"


# ==================================================================================================
# Opening a file
# ==================================================================================================
class _H5:
    def __init__(self, path: Path) -> None:
        import h5py

        self.path = path
        try:
            is_h5 = h5py.is_hdf5(str(path))
        except OSError:
            is_h5 = False
        if not is_h5:
            with open(path, "rb") as fh:
                magic = fh.read(4)
            if magic[:3] == b"CDF":
                raise InputError(
                    f"cannot read {path}: netCDF-3 classic files are not supported; convert it to "
                    f"netCDF-4 with 'nccopy -k nc4 IN OUT'"
                )
            raise InputError(f"cannot read {path}: not an HDF5 / netCDF-4 file (no HDF5 signature)")
        try:
            self.f = h5py.File(path, "r")
        except Exception as exc:
            raise InputError(f"cannot read {path}: {short_reason(exc)}") from None
        self.shapes: dict[str, tuple[int, ...]] = {}

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf" and obj.ndim >= 1:
                self.shapes["/" + name] = tuple(obj.shape)

        self.f.visititems(visit)

    def close(self) -> None:
        self.f.close()

    def _load(self, name: str) -> np.ndarray:
        return np.asarray(self.f[name][()])

    def vectors(self) -> dict[str, Callable[[], np.ndarray]]:
        return {k: partial(self._load, k) for k, s in self.shapes.items() if sum(d > 1 for d in s) <= 1}


def _attr(attrs: Any, names: Sequence[str]) -> Any:
    lower = {k.lower(): k for k in attrs.keys()}
    for n in names:
        if n.lower() in lower:
            return attrs[lower[n.lower()]]
    return None


def _cube_dataset(h5: _H5, path: Path, var: str | None) -> tuple[Any, str, str]:
    """The selected 3-D dataset, its label for messages and its axis order."""
    name = select_variable(path, var, h5.shapes, want=3)
    ds = h5.f[name]
    label = f"{path}:{name}"
    if ds.ndim != 3:
        raise dims_error(label, ds.shape)
    return ds, label, _h5_layout(ds)


# ==================================================================================================
# Metadata
# ==================================================================================================
def _wavelengths(h5: _H5, a: Any, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Band centres and FWHM in nm from the dataset attributes or 1-D datasets of the file."""
    units = as_str(_attr(a, ("wavelength_units", "wavelength units")))
    wl_raw = parse_float_list(_attr(a, WL_NAMES))
    wl = fw = None
    if wl_raw is not None and wl_raw.size == n:
        wl = wl_nm(wl_raw, units, n)
    else:
        found = vector_lookup(h5.vectors(), WL_NAMES, n)
        if found is not None:
            wl_raw = found[1]
            units = units or as_str(h5.f[found[0]].attrs.get("units"))
            wl = wl_nm(wl_raw, units, n)
    if wl is not None:
        fw_attr = parse_float_list(_attr(a, FWHM_NAMES))
        if fw_attr is not None and fw_attr.size == n:
            fw = fwhm_nm(fw_attr, units, wl_raw, n)
        else:
            f_found = vector_lookup(h5.vectors(), FWHM_NAMES, n)
            if f_found is not None:
                fw = fwhm_nm(f_found[1], units, wl_raw, n)
    return wl, fw


def _meta_state(h5: _H5, ds: Any, n: int, label: str) -> dict[str, Any]:
    """Everything the metadata of an ``n``-band dataset needs, read from its attributes (no pixels)."""
    a = ds.attrs
    wl, fw = _wavelengths(h5, a, n)
    nd = parse_float_list(_attr(a, ("nodata", "_FillValue", "missing_value", "data_ignore_value")))
    s = parse_float_list(_attr(a, ("scale_factor",)))
    o = parse_float_list(_attr(a, ("add_offset",)))
    tr = parse_float_list(_attr(a, ("transform", "geotransform")))
    bn = _attr(a, ("band_names",))
    names = None
    if bn is not None:
        listed = [as_str(x) or "" for x in np.asarray(bn).reshape(-1)]
        names = listed if len(listed) == n else None
    return {
        "wavelengths": wl,
        "fwhm": fw,
        "nodata": float(nd[0]) if nd is not None and nd.size >= 1 else None,
        "scales": s if s is not None and s.size in (1, n) else None,
        "offsets": o if o is not None and o.size in (1, n) else None,
        "transform": tuple(float(v) for v in tr[:6]) if tr is not None and tr.size >= 6 else None,
        "crs": as_str(_attr(a, ("crs", "crs_wkt", "spatial_ref"))),
        "band_names": names,
        "units": as_str(_attr(a, ("units",))),
        "label": label,
    }


def _window_meta(state: dict[str, Any], r0: int, c0: int) -> RasterMeta:
    return RasterMeta(
        crs=state["crs"],
        transform=window_transform(state["transform"], r0, c0),
        wavelengths_nm=state["wavelengths"],
        fwhm_nm=state["fwhm"],
        nodata=state["nodata"],
        band_names=band_names(state["band_names"]),
        scale=state["scale"],
        offset=state["offset"],
        units=state["units"],
        source=state["label"],
    )


# ==================================================================================================
# Reading
# ==================================================================================================
def read_cube(path: Path, var: str | None, window: Window | None) -> tuple[np.ndarray, RasterMeta]:
    """Read the 3-D dataset ``var`` (or the only one) as float32 ``(C, h, w)``."""
    h5 = _H5(path)
    try:
        ds, label, layout = _cube_dataset(h5, path, var)
        hh, ww_ = ds.shape[layout.index("H")], ds.shape[layout.index("W")]
        r0, c0, wh, ww = check_window(window, hh, ww_, label)
        sl = {"H": slice(r0, r0 + wh), "W": slice(c0, c0 + ww), "C": slice(None)}
        try:
            arr = ds[tuple(sl[a] for a in layout)] if window is not None else ds[()]
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {label}: {short_reason(exc)}") from None
        axes = (layout.index("C"), layout.index("H"), layout.index("W"))
        cube = to_float32_chw(arr, axes, label)
        state = _meta_state(h5, ds, cube.shape[0], label)
        state["scale"], state["offset"] = apply_scale(cube, state["scales"], state["offsets"], state["nodata"])
        meta = _window_meta(state, r0, c0)
    finally:
        h5.close()
    return cube, meta


def probe(path: Path, var: str | None) -> CubeProbe:
    """Shape and metadata of an HDF5 cube from the dataset header and attributes."""
    h5 = _H5(path)
    try:
        ds, label, layout = _cube_dataset(h5, path, var)
        check_cube_array(ds.dtype, ds.shape, label)
        c, h, w = (int(ds.shape[layout.index(a)]) for a in "CHW")
        state = _meta_state(h5, ds, c, label)
        state["scale"], state["offset"] = scale_record(state["scales"], state["offsets"], c)
    finally:
        h5.close()
    return CubeProbe((c, h, w), label, state)


HDF5 = CubeFormat("HDF5/netCDF-4", (".h5", ".hdf5", ".he5", ".nc"), read_cube, probe, _window_meta)


def read_matrix(path: Path, var: str | None) -> np.ndarray:
    """Read the 2-D dataset ``var`` (or the only one with both sides > 1) as float64."""
    h5 = _H5(path)
    try:
        name = select_variable(path, var, h5.shapes, want=2)
        try:
            arr = np.asarray(h5.f[name][()])
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot read {path}:{name}: {short_reason(exc)}") from None
    finally:
        h5.close()
    check_matrix(arr, f"{path}:{name}")
    return np.asarray(arr, dtype=np.float64)


# ==================================================================================================
# Writing
# ==================================================================================================
def write_h5(tmp: Path, cube: np.ndarray, meta: RasterMeta, final: Path) -> None:
    """Write ``cube`` ``(C, H, W)`` as dataset ``/fused`` ``(H, W, C)`` float32 with metadata attributes."""
    import h5py

    c, h, w = cube.shape
    with h5py.File(tmp, "w") as f:
        ds = f.create_dataset(
            "fused",
            data=np.ascontiguousarray(np.transpose(cube, (1, 2, 0))),
            chunks=(min(h, 64), min(w, 64), c),
            compression="gzip",
            compression_opts=4,
            shuffle=True,
        )
        a = ds.attrs
        a["layout"] = "HWC"
        if meta.wavelengths_nm is not None:
            a["wavelength"] = meta.wavelengths_nm
            a["wavelength_units"] = "nm"
        if meta.fwhm_nm is not None:
            a["fwhm"] = meta.fwhm_nm
        if meta.crs is not None:
            a["crs"] = meta.crs
        if meta.transform is not None:
            a["transform"] = np.asarray(meta.transform, dtype=np.float64)
        if meta.nodata is not None:
            a["nodata"] = np.float64(meta.nodata)
        if meta.band_names is not None:
            a["band_names"] = np.asarray(meta.band_names, dtype=h5py.string_dtype())
        if meta.units is not None:
            a["units"] = meta.units
        f.attrs["software"] = "pfs2c2"
