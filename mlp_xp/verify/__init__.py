"""The verify layer: replay a model's recorded training on a reference backend, and compare."""

from .api import compare, verify
from .report import CompareReport, Verdict, VerifyReport

__all__ = ["CompareReport", "Verdict", "VerifyReport", "compare", "verify"]
