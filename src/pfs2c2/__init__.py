"""pfs2c2: blind hyperspectral-multispectral image fusion (Jia et al., IEEE JSTARS 2025)."""

__version__ = "0.1.0"
