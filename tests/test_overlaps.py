"""The fleet's prefix-overlap check: every overlapping prefix is reported, and the work stays linear in the
number of prefixes however many of them overlap (5,000 sites on one WAN subnet)."""

from __future__ import annotations

from ipaddress import IPv4Network

from hypothesis import given
from hypothesis import strategies as st

from ikefleet.validate import overlaps

FIELDS = ("lan_prefixes", "wan_address", "pools.ipsec")


@st.composite
def prefixes(draw: st.DrawFn) -> list[tuple[str, str, IPv4Network]]:
    """A few prefixes in one /16, so that they nest and repeat often."""
    named = []
    for n in range(draw(st.integers(0, 25))):
        length = draw(st.integers(16, 26))
        address = (10 << 24) + draw(st.integers(0, (1 << 16) - 1))
        net = IPv4Network((address, length), strict=False)
        named.append((f"s{n}", draw(st.sampled_from(FIELDS)), net))
    return named


@given(prefixes())
def test_every_overlapping_prefix_is_reported_once_against_a_container(
    named: list[tuple[str, str, IPv4Network]],
) -> None:
    pairs = overlaps(named)
    reported = [b for _, b in pairs]
    assert len(reported) == len(set(reported))  # one problem per prefix at most
    for a, b in pairs:
        assert named[b][2].subnet_of(named[a][2])  # against the prefix that contains it
        assert not named[a][1] == named[b][1] == "wan_address"
    # brute force: a prefix overlapping another (not both WANs) is either reported or contains the other
    for i, (_, field_i, net_i) in enumerate(named):
        for j, (_, field_j, net_j) in enumerate(named):
            if i == j or not net_i.overlaps(net_j) or field_i == field_j == "wan_address":
                continue
            assert i in reported or j in reported, (named[i], named[j], pairs)


def test_sites_sharing_one_wan_subnet_make_no_pairs() -> None:
    wan = IPv4Network("198.51.100.0/24")
    named = [(f"br{n}", "wan_address", wan) for n in range(5000)]
    assert overlaps(named) == []


def test_a_lan_equal_to_a_shared_wan_subnet_is_one_problem_per_site_not_per_pair() -> None:
    """5,000 WANs in one subnet and a LAN that is that subnet: 5,000 problems at most, not 12.5 M pairs."""
    wan = IPv4Network("198.51.100.0/24")
    named = [(f"br{n}", "wan_address", wan) for n in range(5000)]
    named.append(("hub", "lan_prefixes", wan))
    pairs = overlaps(named)
    assert 1 <= len(pairs) <= len(named)
    assert all(5000 in pair for pair in pairs)  # each pair names the LAN
