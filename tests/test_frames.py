"""tlfgen.frames.renumber: reset_index(drop=True) without copying the data."""

import pandas as pd

from tlfgen.frames import renumber


def test_renumber_resets_the_index_and_keeps_the_values():
    data = pd.DataFrame({"a": [3, 4]}, index=[7, 2])
    out = renumber(data)
    assert out.index.tolist() == [0, 1] and out["a"].tolist() == [3, 4]
    assert data.index.tolist() == [7, 2]
    pd.testing.assert_frame_equal(out, data.reset_index(drop=True))


def test_renumber_returns_a_frame_already_numbered_as_it_is():
    plain = pd.DataFrame({"A": [1]})
    assert renumber(plain) is plain
