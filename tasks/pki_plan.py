"""What a rollout's certificate step would do, read only: the dry run's account of it.

Decided by the rules the step itself uses (tasks.pki: `renewal_reason`, `retired`, `renewal_name`) on the
certificates read from the hub; nothing is sent. The words follow the step's own records ("certificate X
issued (...)", "... revoked (...)"), with "would".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ikefleet.parsers.certificate import Certificate
from ikefleet.plan import client_versions, renewal_name

from .pki import CertPolicy, kept_for_copies, renewal_reason, retired, server_reason


@dataclass
class HubWork:
    """The hub's certificate step as it would run: `work` in words, `issued` base name -> the name of the
    client certificate it would issue (the branch then gets that one), `server` why it would issue its own
    certificate anew ('': it would not; else every branch's copy of it is stale after the step)."""

    work: list[str] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)
    server: str = ""


def hub_work(certs: dict[str, Certificate], *, ca: str, server: str, hub_wan: str, clients: list[str],
             policy: CertPolicy, now: datetime, retire: bool, keep_server: bool = False) -> HubWork:
    """The certificate step of `pki.ensure_authority` (with `keep_server`) and `pki.ensure_clients` (with
    `retire`) on `certs`. An unsigned template (a killed run's) counts as missing, as the step removes it
    first."""
    certs = {n: c for n, c in certs.items() if c.get("fingerprint")}
    out = HubWork()
    ca_reason = renewal_reason(certs.get(ca), policy, now)
    if ca_reason == "missing":
        out.work.append(f"would create CA {ca}")
    elif ca_reason:
        out.work.append(f"CA certificate {ca}: {ca_reason}: the rollout would stop at the hub (replacing the "
                        "CA re-keys every branch: ikefleet never does it by itself)")
        return out
    reason = server_reason(certs.get(server), policy, now, hub_wan)
    if reason and not (keep_server and kept_for_copies(reason)):
        out.work.append(f"would issue {server} ({reason})")
        out.server = reason
    if retire:
        out.work += [f"would revoke certificate {n} (its branch is no longer in the inventory)"
                     for n in retired(certs, clients, ca)]
    for base in clients:
        versions = client_versions(certs, base)
        current = versions[-1] if versions else None
        # as the step: a branch-made certificate is on the hub without its key, which is no reason to renew
        reason = renewal_reason(certs.get(current) if current else None, policy, now, key_here=False)
        if not reason:
            continue
        name = renewal_name(base, certs, now) if current else base
        out.issued[base] = name
        out.work.append(f"would issue certificate {name} ({reason}" + (f"; replaces {current})" if current
                                                                       else ")"))
    return out
