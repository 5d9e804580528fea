"""A certificate hand-over on the hub (the seed's `peer=local ... match-by=certificate remote-certificate=`):
two identities on the one peer, told apart by the certificate the branch presents, both authenticate, so
the hub accepts the old and the new client certificate while a renewal is under way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ikefleet.lab import fabric
from ikefleet.lab.clock import LabClock
from ikefleet.lab.router import Router

from .test_fabric_seed import Lab, build, find, store_cert

NOW = datetime.now(UTC).replace(microsecond=0)


def established(router: Router) -> bool:
    return [p.get("state") for p in router.config.items("/ip ipsec active-peers")] == ["established"]


def test_two_hub_identities_told_apart_by_remote_certificate_both_authenticate(tmp_path: Path) -> None:
    seed: Lab = build(tmp_path, clock=LabClock.held(NOW))
    branch = seed.branches[0]
    cert, key = seed.ca.issue("client")  # the renewal: same subject, new certificate
    store_cert(seed.hub, "client2", cert, None)
    store_cert(branch, "client2", cert, key)
    (old,) = seed.hub.config.items("/ip ipsec identity")
    seed.hub.config.add("/ip ipsec identity", {**old.values, "remote-certificate": "client2"})
    (mine,) = branch.config.items("/ip ipsec identity")
    for presented in ("client", "client2"):  # before and after the branch's move
        mine.values["certificate"] = presented
        fabric.recompute(seed.routers, NOW)
        assert established(seed.hub) and established(branch), presented
        (sa,) = [p for p in seed.hub.config.items("/ip ipsec policy") if p.dynamic]
        assert sa.get("ph2-state") == "established", presented
    seed.hub.config.items("/ip ipsec identity").remove(old)  # the hub's old identity gone: only client2
    mine.values["certificate"] = "client"
    fabric.recompute(seed.routers, NOW)
    assert not established(seed.hub)
    assert find(seed.hub, "/ip ipsec identity", **{"remote-certificate": "client2"})
