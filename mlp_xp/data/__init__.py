"""The data layer: built-in data sets, and tables read from CSV and ``.npz`` files."""

from .builtin import BMI_FEATURES, DATASETS, load_digits, make_bmi, make_xor
from .tables import TASKS, Dataset, fingerprint, infer_task, load_data, split

__all__ = [
    "BMI_FEATURES",
    "DATASETS",
    "TASKS",
    "Dataset",
    "fingerprint",
    "infer_task",
    "load_data",
    "load_digits",
    "make_bmi",
    "make_xor",
    "split",
]
