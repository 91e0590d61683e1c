"""AI Policy Atlas: validate, release, cite and load the dataset.

`aipolicy.load()` and `aipolicy.load_table()` need only pandas, pyarrow and Polars (the
reader); the validator's other dependencies (frictionless, pandera) are imported only by
validation.
"""
from __future__ import annotations

__all__ = ["load", "load_table"]


def __getattr__(name: str):
    if name in __all__:
        from .outputs import loader as _load

        return getattr(_load, name)
    raise AttributeError(name)
