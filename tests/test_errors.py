"""The error tree: exported, drawn in the module docstring, with sane HTTP statuses."""

from __future__ import annotations

import inspect

import eventkit.errors as errors


def _classes() -> list[type[errors.EventKitError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.EventKitError)
    ]


def test_all_lists_every_error() -> None:
    assert sorted(errors.__all__) == sorted(c.__name__ for c in _classes())


def test_docstring_draws_every_error() -> None:
    doc = errors.__doc__ or ""
    for cls in _classes():
        assert cls.__name__ in doc, f"{cls.__name__} missing from the tree in errors.py"


def test_statuses_and_codes() -> None:
    codes = set()
    for cls in _classes():
        assert 400 <= cls.status_code < 600
        codes.add(cls.code)
    assert len(codes) == len(_classes()), "every error class has its own code"
    assert errors.OverloadedError("x", retry_after=3).retry_after == 3
    assert errors.InvalidEventError("x", [("name", "bad")]).errors == [("name", "bad")]
