"""SDTM test fixtures; the shared builders live in sdtm_helpers.py."""

import pytest

from sdtm_helpers import make_study


@pytest.fixture
def small_study(tmp_path):
    return make_study(tmp_path / "study")
