"""Calculate fields as a graph: what each reads, and an order in which to compute them."""

from __future__ import annotations

from survey_forms.levels import Level
from survey_forms.references import UNKNOWN, Read, reads

Node = tuple[str | None, str]  # (repeat name or None for the top level, field name)


def calculation_graph(levels: dict[str | None, Level]) -> dict[Node, set[Node]]:
    """For each calculate field, the calculate fields its calculation reads (directly, via $root, or over a repeat)."""
    calcs = {(level.name, item.spec["name"]) for level in levels.values() for item in level.fields
             if item.spec["type"] == "calculate"}
    graph: dict[Node, set[Node]] = {}
    for level in levels.values():
        for item in level.fields:
            if item.spec["type"] != "calculate":
                continue
            needs: set[Node] = set()
            for read in reads(item.spec["calculation"]):
                needs |= _read_needs(read, level, levels, calcs)
            graph[(level.name, item.spec["name"])] = needs
    return graph


def _read_needs(read: Read, level: Level, levels: dict[str | None, Level], calcs: set) -> set:
    if read.path is None or read.element_of == UNKNOWN:
        return set()
    head, _, rest = read.path.partition(".")
    if read.element_of is not None:
        field = rest.partition(".")[0] if read.in_reduce and head == "current" else head
        return {(read.element_of, field)} & calcs
    if head == "$root":
        return {(None, rest.partition(".")[0])} & calcs
    if head in levels and head != level.name:  # a whole repeat: every calculation in it
        return {node for node in calcs if node[0] == head}
    return {(level.name, head)} & calcs


def calculation_order(levels: dict[str | None, Level]) -> list[Node]:
    """Calculate fields in an order where each comes after what it reads (the loader refuses cycles)."""
    graph = calculation_graph(levels)
    order: list[Node] = []
    done: set[Node] = set()

    def visit(node: Node) -> None:
        if node in done:
            return
        done.add(node)
        for need in sorted(graph.get(node, ()), key=str):
            visit(need)
        order.append(node)

    for node in sorted(graph, key=str):
        visit(node)
    return order
