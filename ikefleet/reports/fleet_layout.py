"""Where each router sits on the fleet map: the hub in the middle, branches around it.

Up to RING_MAX branches sit on one ring, each with its name written radially outwards (names never
collide while the ring has one text line of room per branch). Past that, names would not fit: branches
are grouped by name prefix (`fra-br3` -> `fra`, `br17` -> `br`) into at most MAX_CLUSTERS clusters on a
ring, each cluster a sunflower of dots with one label; single names are then read by hover, search and
the list view. The map is drawn in a fixed WIDTH x HEIGHT box that the page scales to its window.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

WIDTH, HEIGHT = 1600.0, 1000.0
RING_MAX = 100
MAX_CLUSTERS = 30
CLUSTER_MIN = 40  # branches per cluster before the cluster count grows to MAX_CLUSTERS
LABEL_CHARS = 24  # longer names are cut in the middle on the map (full name on hover and in the list)
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
    """A name cut in the middle: site names share their beginnings (`branch-office-...`) and differ at
    the end (numbers), so the end is what tells two labels apart."""
    if len(name) <= LABEL_CHARS:
        return name
    head = (LABEL_CHARS - 1) // 3
    return name[:head] + "…" + name[-(LABEL_CHARS - 1 - head) :]


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
    centres = _around(len(chunks), hub, WIDTH / 2 - 180, HEIGHT / 2 - 120)
    gaps = [math.dist(centres[i], centres[i - 1]) for i in range(1, len(centres))]
    cluster_r = min(60.0, 0.45 * min(gaps, default=200.0))
    spread = cluster_r * 0.88
    node_r = max(1.0, min(8.0, 0.45 * spread * min(_sunflower_gap(len(c)) for c in chunks)))
    clusters: list[Cluster] = []
    nodes: list[Node] = []
    for index, (chunk, (cx, cy)) in enumerate(zip(chunks, centres, strict=True)):
        a = math.atan2(cy - hub.y, cx - hub.x)
        here = Counter(group_key(n) for n in chunk)
        whole = all(sizes[g] == count for g, count in here.items())
        clusters.append(Cluster(_label(chunk, whole), _r(cx), _r(cy), _r(cluster_r), _r(math.degrees(a))))
        for name, (ux, uy) in zip(chunk, _sunflower(len(chunk)), strict=True):
            nodes.append(Node(name, _r(cx + spread * ux), _r(cy + spread * uy), _r(math.degrees(a)), index))
    return Layout(hub, nodes, clusters, _r(node_r), False)


def _around(count: int, hub: Node, rx: float, ry: float) -> list[tuple[float, float]]:
    """`count` points on an ellipse around the hub, equally spaced along its length (equal angles would
    crowd them at the ends of the long axis), the first at the top."""
    steps = 3600
    angles = [-math.pi / 2 + 2 * math.pi * i / steps for i in range(steps + 1)]
    points = [(hub.x + rx * math.cos(t), hub.y + ry * math.sin(t)) for t in angles]
    lengths = [0.0]
    for i in range(1, len(points)):
        lengths.append(lengths[-1] + math.dist(points[i - 1], points[i]))
    return [points[bisect.bisect_left(lengths, k * lengths[-1] / count)] for k in range(count)]


@cache
def _sunflower(count: int) -> tuple[tuple[float, float], ...]:
    """`count` points evenly spread over the unit disc (Vogel's spiral)."""
    return tuple(
        (math.sqrt((i + 0.5) / count) * math.cos(i * GOLDEN_ANGLE),
         math.sqrt((i + 0.5) / count) * math.sin(i * GOLDEN_ANGLE))
        for i in range(count)
    )


@cache
def _sunflower_gap(count: int) -> float:
    """The smallest distance between two of its points (the innermost ones are the closest)."""
    points = _sunflower(count)
    return min((math.dist(p, q) for i, p in enumerate(points) for q in points[i + 1 :]), default=2.0)


def _r(value: float) -> float:
    return round(value, 1)
