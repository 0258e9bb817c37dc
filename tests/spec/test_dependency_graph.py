"""Variable-level dependency graph: order and cycles."""

import pytest

from tlfgen.errors import Location, SpecError
from tlfgen.spec.graph import DependencyGraph


def test_order_puts_parents_first_and_is_stable():
    graph = DependencyGraph()
    graph.add_edge("sdtm.EX.EXSTDTC", "ADSL.TRTSDT")
    graph.add_edge("ADSL.TRTSDT", "ADTTE.STARTDT")
    graph.add_edge("sdtm.DM.AGE", "ADSL.AGE")
    assert graph.order() == ["sdtm.DM.AGE", "sdtm.EX.EXSTDTC", "ADSL.AGE", "ADSL.TRTSDT", "ADTTE.STARTDT"]
    assert graph.upstream("ADTTE.STARTDT") == ["ADSL.TRTSDT", "sdtm.EX.EXSTDTC"]


def test_cycle_names_the_variables_and_their_spec_lines():
    graph = DependencyGraph()
    graph.add_node("ADSL.A", location=Location("specs/adam/ADSL.yaml", 10, 5))
    graph.add_node("ADSL.B", location=Location("specs/adam/ADSL.yaml", 14, 5))
    graph.add_edge("ADSL.A", "ADSL.B")
    graph.add_edge("ADSL.B", "ADSL.A")
    with pytest.raises(SpecError) as info:
        graph.order()
    text = str(info.value)
    assert "dependency cycle between variables: ADSL." in text
    assert "ADSL.A at specs/adam/ADSL.yaml:10:5" in text and "ADSL.B at specs/adam/ADSL.yaml:14:5" in text
