"""ikefleet: roll out, verify and keep compliant a MikroTik IKEv2 + EoIP + OSPF VPN."""

__version__ = "0.1.0"
