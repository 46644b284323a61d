"""Connected components by union-find: coreference links -> clusters, wherever links are read."""

from __future__ import annotations

from typing import Hashable, Iterable, TypeVar

T = TypeVar("T", bound=Hashable)


def components(nodes: Iterable[T], edges: Iterable[tuple[T, T]]) -> list[list[T]]:
    """The connected components of two or more nodes, members in the order of `nodes`, components
    in the order of their first member. Every node an edge names must be among `nodes`."""
    parent = {n: n for n in nodes}

    def find(x: T) -> T:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps later finds short
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    groups: dict[T, list[T]] = {}
    for n in parent:
        groups.setdefault(find(n), []).append(n)
    return [g for g in groups.values() if len(g) >= 2]
