"""Strongly connected components of a directed graph, for the analyses that need cycles.

Iterative (Tarjan's algorithm with an explicit stack), because the graphs
come from user input (grammar rules, an automaton's states) and can be
deeper than Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator


def strongly_connected(nodes: Iterable[Hashable], successors: Callable[[Hashable], Iterable[Hashable]]
                       ) -> Iterator[list]:
    """The strongly connected components of the graph on `nodes`, each after every component it leads to.

    `successors(v)` gives the nodes `v` has an edge to; those outside `nodes` are ignored.
    """
    nodes = list(nodes)
    inside = set(nodes)
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors(root)))]
        while work:
            v, edges = work[-1]
            for w in edges:
                if w not in inside:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(successors(w))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    yield component
