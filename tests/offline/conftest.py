"""Workspace fixture for the offline tests."""

from __future__ import annotations

import pytest

import promptab_nb as pab


@pytest.fixture()
def ws():
    w = pab.Workspace()
    yield w
    w.close()
