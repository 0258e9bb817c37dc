"""Spec layer: the variable-level dependency graph, built from specs before any data runs.

Nodes are qualified variable ids (``ADSL.TRTSDT``, ``sdtm.EX.EXSTDTC``); an
edge ``a -> b`` means b is derived from a. A cycle is a spec error naming the
variables involved and where each is defined.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field

from tlfgen.errors import Location, SpecError


@dataclass
class DependencyGraph:
    #: node -> the nodes it depends on
    parents: dict[str, set[str]] = field(default_factory=dict)
    #: node -> where it is defined (spec file and line)
    locations: dict[str, Location] = field(default_factory=dict)

    def add_node(self, node: str, *, location: Location | None = None) -> None:
        self.parents.setdefault(node, set())
        if location is not None:
            self.locations[node] = location

    def add_edge(self, parent: str, child: str) -> None:
        self.parents.setdefault(child, set()).add(parent)
        self.parents.setdefault(parent, set())

    def children(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {n: set() for n in self.parents}
        for child, parents in self.parents.items():
            for parent in parents:
                out[parent].add(child)
        return out

    def order(self) -> list[str]:
        """Nodes in an order where every node comes after its parents (stable: sorted ties)."""
        sorter = graphlib.TopologicalSorter({n: sorted(p) for n, p in sorted(self.parents.items())})
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])
            where = "; ".join(f"{n} at {self.locations[n]}" for n in cycle if n in self.locations)
            raise SpecError(
                "dependency cycle between variables: " + " -> ".join(cycle),
                location=self.locations.get(cycle[0]),
                hint=(f"defined: {where}. " if where else "") + "break the cycle by deriving one of them from source data",
            ) from None
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    def upstream(self, node: str) -> list[str]:
        """Every node that ``node`` depends on, directly or not (sorted)."""
        seen: set[str] = set()
        stack = [node]
        while stack:
            for parent in self.parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return sorted(seen)
