"""Classical reference methods, run beside PFS2C2 in tests and benchmarks.

Every method of :data:`METHODS` has the call form of :func:`pfs2c2.fusion.fuse`'s first arguments,
``method(lr_hsi, hr_msi, ratio=None, srf=None, psf=None) -> (C, H, W) float32``, with the LR-HSI
``(C, h, w)`` and the HR-MSI ``(c, H, W)``, ``H = ratio * h``, as numpy arrays. The ratio is inferred
from the shapes when not given. When ``srf`` / ``psf`` are ``None`` the method is *blind*: the PSF is
estimated from the data by ``lr_est_psf``, ``local_linear_regression`` and ``hysure``
(:func:`estimate_psf`), and elsewhere taken as a Gaussian with FWHM = ratio
(:func:`~pfs2c2.physics.gaussian_psf`); where an SRF is needed, it is estimated by non-negative least
squares between the PSF-degraded MSI and the LR-HSI (:func:`estimate_srf`, :mod:`.common`). A given
SRF is used for its shape only: one gain per MSI band is fitted so that ``MSI ~= HSI @ SRF`` in the
inputs' units.

Methods (short name in :data:`METHODS`), one module per family (the shared checks and operators are
in :mod:`.common`; to add a baseline, write its module and register it in :data:`METHODS`):

* ``bicubic`` -- :func:`bicubic` / :func:`bicubic_upsample` (:mod:`.interpolation`): the LR-HSI interpolated to the MSI grid (no
  MSI used).
* ``linear_regression`` -- :func:`linear_regression` / :func:`linear_regression_fusion` (:mod:`.regression`): least-squares
  affine map from the LR-MSI (the MSI blurred with the PSF) to the LR-HSI, applied to the HR-MSI, plus
  the bicubic-upsampled LR residual. A strong closed-form baseline (GUIDE section 6). Given the true
  PSF of a simulated case it is the *oracle* reference of that case.
* ``lr_est_psf`` -- :func:`lr_est_psf` (:mod:`.regression`): the same through a PSF estimated from the
  data (blind; a given PSF is used as is). The estimate, :func:`estimate_psf` (:mod:`.psf_estimation`),
  is a non-negative closed-form kernel of side :func:`default_psf_size` (room for a shift of one HR
  pixel and a spread beyond the ratio), alternated with the NNLS SRF.
* ``local_linear_regression`` -- :func:`local_linear_regression` (:mod:`.local_regression`): affine
  maps fitted in overlapping LR windows (12 LR pixels, stride 6), pulled towards the global map and
  blended with tent weights on the HR grid, plus the bicubic LR residual; blind, through
  :func:`estimate_psf`.
* ``gsa`` -- :func:`gsa` (:mod:`.component_substitution`): Gram-Schmidt adaptive component substitution. B. Aiazzi, S. Baronti, M. Selva,
  "Improving component substitution pansharpening through multivariate regression of MS+Pan data",
  IEEE TGRS 45(10):3230-3239, 2007; applied to HS-MS fusion band group by band group as in N. Yokoya,
  C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: a comparative review of
  the recent literature", IEEE GRSM 5(2):29-56, 2017.
* ``glp_hs`` -- :func:`glp_hs` (:mod:`.multiresolution`): MTF-GLP hyper-sharpening. M. Selva, B. Aiazzi, F. Butera,
  L. Chiarantini, S. Baronti, "Hyper-sharpening: a first approach on SIM-GA data", IEEE JSTSP
  9(6):1008-1018, 2015 (MTF-matched GLP: B. Aiazzi et al., PE&RS 72(5):591-596, 2006).
* ``cnmf`` -- :func:`cnmf` (:mod:`.unmixing`): coupled non-negative matrix factorisation. N. Yokoya, T. Yairi, A. Iwasaki,
  "Coupled nonnegative matrix factorization unmixing for hyperspectral and multispectral data
  fusion", IEEE TGRS 50(2):528-537, 2012; endmembers initialised by VCA (J. M. P. Nascimento,
  J. M. Bioucas-Dias, "Vertex component analysis: a fast algorithm to unmix hyperspectral data",
  IEEE TGRS 43(4):898-910, 2005).
* ``hysure`` -- :func:`hysure` (:mod:`.subspace`): subspace-based regularisation with vector total variation. M. Simoes,
  J. Bioucas-Dias, L. B. Almeida, J. Chanussot, "A convex formulation for hyperspectral image
  superresolution via subspace-based regularization", IEEE TGRS 53(6):3373-3388, 2015 (fusion step
  only, with the given or estimated operators; blind, the PSF comes from :func:`estimate_psf`).

Grid convention (:mod:`pfs2c2.physics`): LR pixel ``(i, j)`` is the PSF-weighted mean of HR rows
``i*r .. i*r+r-1`` and columns ``j*r .. j*r+r-1`` (kernels larger than ``r`` centred on that block);
the bicubic interpolation puts LR pixel centres at the block centres. Every method here works on that
grid. Computations are in float64; inputs with bad shapes, a non-integer ratio or an MSI with as many
bands as the HSI raise :class:`~pfs2c2.errors.InputError`.
"""

from __future__ import annotations

from .common import FusionMethod, estimate_srf
from .component_substitution import gsa
from .interpolation import bicubic, bicubic_upsample
from .local_regression import local_linear_regression
from .multiresolution import glp_hs
from .psf_estimation import default_psf_size, estimate_psf
from .regression import linear_regression, linear_regression_fusion, lr_est_psf
from .subspace import hysure
from .unmixing import cnmf

__all__ = [
    "METHODS",
    "FusionMethod",
    "bicubic",
    "bicubic_upsample",
    "cnmf",
    "default_psf_size",
    "estimate_psf",
    "estimate_srf",
    "glp_hs",
    "gsa",
    "hysure",
    "linear_regression",
    "linear_regression_fusion",
    "local_linear_regression",
    "lr_est_psf",
]

METHODS: dict[str, FusionMethod] = {
    "bicubic": bicubic,
    "linear_regression": linear_regression,
    "gsa": gsa,
    "glp_hs": glp_hs,
    "cnmf": cnmf,
    "hysure": hysure,
    "lr_est_psf": lr_est_psf,
    "local_linear_regression": local_linear_regression,
}
"""Short name -> baseline, all called as ``method(lr_hsi, hr_msi, ratio=None, srf=None, psf=None)``."""
