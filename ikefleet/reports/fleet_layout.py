"""Where each router sits on the fleet map: the hub in the middle, branches around it.

Up to RING_MAX branches sit on one ring, each with its name written radially outwards (names never
collide while the ring has one text line of room per branch). Past that, names would not fit: branches
are grouped by name prefix (`fra-br3` -> `fra`, `br17` -> `br`) into at most MAX_CLUSTERS clusters on a
ring, each cluster a sunflower of dots with one label; single names are then read by hover, search and
the list view. The map is drawn in a fixed WIDTH x HEIGHT box that the page scales to its window.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

WIDTH, HEIGHT = 1600.0, 1000.0
RING_MAX = 100
MAX_CLUSTERS = 30
CLUSTER_MIN = 40  # branches per cluster before the cluster count grows to MAX_CLUSTERS
LABEL_CHARS = 24  # longer names are cut on the map (full name on hover and in the list)
CHAR_WIDTH = 6.6  # px per character at the map's 11 px label font, generous
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


@dataclass(frozen=True)
class Node:
    name: str
    x: float
    y: float
    angle: float  # degrees, direction of the node from the hub (its radial label follows it)
    cluster: int  # index into Layout.clusters, -1 when not clustered


@dataclass(frozen=True)
class Cluster:
    label: str
    x: float
    y: float
    r: float
    angle: float


@dataclass(frozen=True)
class Layout:
    hub: Node
    nodes: list[Node]
    clusters: list[Cluster]
    node_r: float
    labels: bool  # per-branch names drawn on the map


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """br2 before br10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p)


def group_key(name: str) -> str:
    """A site's group: the part before the first separator (`fra-br3` -> `fra`), else its letters."""
    head = re.split(r"[-_.]", name, maxsplit=1)[0]
    return head.rstrip("0123456789") or head


def short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def layout(hub: str, branches: list[str]) -> Layout:
    ordered = sorted(branches, key=lambda b: (group_key(b), natural_key(b)))
    centre = Node(hub, WIDTH / 2, HEIGHT / 2, 90.0, -1)
    if len(ordered) <= RING_MAX:
        return _ring(centre, ordered)
    return _clustered(centre, ordered)


def _ring(hub: Node, names: list[str]) -> Layout:
    longest = max((len(short(n)) for n in names), default=0)
    radius = HEIGHT / 2 - 24 - longest * CHAR_WIDTH
    step = 2 * math.pi / max(len(names), 1)
    node_r = max(3.0, min(14.0, radius * step * 0.32))
    nodes = []
    for i, name in enumerate(names):
        a = -math.pi / 2 + i * step
        nodes.append(Node(name, _r(hub.x + radius * math.cos(a)), _r(hub.y + radius * math.sin(a)),
                          _r(math.degrees(a)), -1))
    return Layout(hub, nodes, [], node_r, True)


def _chunks(names: list[str]) -> list[list[str]]:
    """Whole groups where they fit, big groups cut, small neighbours packed together."""
    size = max(CLUSTER_MIN, math.ceil(len(names) / MAX_CLUSTERS))
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(group_key(n), []).append(n)
    chunks: list[list[str]] = []
    for members in groups.values():
        if chunks and len(chunks[-1]) + len(members) <= size:
            chunks[-1].extend(members)
            continue
        chunks.extend(members[i : i + size] for i in range(0, len(members), size))
    return chunks


def _label(chunk: list[str], whole: bool) -> str:
    if whole and len({group_key(n) for n in chunk}) == 1:
        return f"{group_key(chunk[0])} ({len(chunk)})"
    return f"{short(chunk[0])} … {short(chunk[-1])}"


def _clustered(hub: Node, names: list[str]) -> Layout:
    chunks = _chunks(names)
    sizes = Counter(group_key(n) for n in names)
    rx, ry = WIDTH / 2 - 180, HEIGHT / 2 - 120
    perimeter = math.pi * (3 * (rx + ry) - math.sqrt((3 * rx + ry) * (rx + 3 * ry)))
    cluster_r = min(60.0, perimeter / len(chunks) * 0.42)
    biggest = max(len(c) for c in chunks)
    node_r = max(1.5, min(8.0, cluster_r / math.sqrt(biggest) * 0.7))
    clusters: list[Cluster] = []
    nodes: list[Node] = []
    for index, chunk in enumerate(chunks):
        a = -math.pi / 2 + index * 2 * math.pi / len(chunks)
        cx, cy = hub.x + rx * math.cos(a), hub.y + ry * math.sin(a)
        here = Counter(group_key(n) for n in chunk)
        whole = all(sizes[g] == count for g, count in here.items())
        clusters.append(Cluster(_label(chunk, whole), _r(cx), _r(cy), _r(cluster_r), _r(math.degrees(a))))
        spread = cluster_r - node_r
        for i, name in enumerate(chunk):  # a sunflower: even density, no two dots closer than ~node_r*2
            d = spread * math.sqrt((i + 0.5) / len(chunk))
            t = i * GOLDEN_ANGLE
            nodes.append(Node(name, _r(cx + d * math.cos(t)), _r(cy + d * math.sin(t)),
                              _r(math.degrees(a)), index))
    return Layout(hub, nodes, clusters, _r(node_r), False)


def _r(value: float) -> float:
    return round(value, 1)
