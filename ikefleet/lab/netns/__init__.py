"""Real-dataplane lab backend: each lab router's IPsec/EoIP/OSPF configuration runs in strongSwan (charon,
userspace ESP via kernel-libipsec) and FRR (zebra/ospfd/bfdd) inside its own network namespace.

Modules: `namespaces` (create/record/clean namespaces, bridges, veths, daemons), `strongswan` and `frr`
(RouterOS configuration -> daemon configuration, refusing what they cannot reproduce), `state` (daemon
output -> the RouterOS dynamic items the fabric would write). See docs/netns-backend.md.
"""

from .errors import Untranslatable

__all__ = ["Untranslatable"]
