"""Compatibility module: the no-reference indices live in :mod:`pfs2c2.metrics.noref`."""

from __future__ import annotations

from .metrics.noref import d_lambda, d_lambda_k, d_s, no_reference, qnr

__all__ = ["d_lambda", "d_lambda_k", "d_s", "no_reference", "qnr"]
