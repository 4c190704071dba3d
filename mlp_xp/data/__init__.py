"""The data layer: built-in data sets, and tables read from CSV and ``.npz`` files."""

from .builtin import BMI_FEATURES, DATASETS, load_digits, make_bmi, make_xor
from .fingerprint import fingerprint_array
from .tables import TASKS, Dataset, infer_task, load_data, split

__all__ = [
    "BMI_FEATURES",
    "DATASETS",
    "TASKS",
    "Dataset",
    "fingerprint_array",
    "infer_task",
    "load_data",
    "load_digits",
    "make_bmi",
    "make_xor",
    "split",
]
