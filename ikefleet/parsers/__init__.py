"""Parsers: RouterOS command output to typed records, for the verification step.

    records = parse_installed_sa(text)              # one function per command, any print form
    records = parse_command_output(command, text)   # the command text picks the parser
    stable(records, command)                        # without ages/counters/ids, to compare snapshots

Every `parse_x(text)` reads the command's table, detail, terse, as-value and v7 `:serialize to=json`
forms, v6 and v7, at any terminal width; records are TypedDicts (numbers as int, durations in seconds,
flags as named booleans, unknown fields under `extra`). Secret fields never come back. An error reply
raises `CommandFailed` (its `.error` is the structured `RouterOSError`); anything unreadable, or the output
of another command, raises `ParseError` naming the command. Menus without a typed parser: `parse_generic`.
"""

from ikefleet.parsers.bfd import BfdNeighbor, parse_bfd_neighbor, parse_bfd_session
from ikefleet.parsers.certificate import Certificate, parse_certificate
from ikefleet.parsers.errors import CommandFailed, ParseError, RouterOSError, detect_error
from ikefleet.parsers.generic import (
    GenericRecord,
    parse_as_value_text,
    parse_detail,
    parse_generic,
    parse_generic_settings,
    parse_json_text,
    parse_terse,
)
from ikefleet.parsers.interfaces import (
    Address,
    EoipInterface,
    Interface,
    parse_address,
    parse_eoip,
    parse_interface,
)
from ikefleet.parsers.ipsec import (
    ActivePeer,
    Identity,
    InstalledSa,
    Peer,
    Policy,
    Profile,
    Proposal,
    parse_active_peers,
    parse_identity,
    parse_installed_sa,
    parse_peer,
    parse_policy,
    parse_profile,
    parse_proposal,
)
from ikefleet.parsers.ospf import OspfInterface, OspfNeighbor, parse_ospf_interface, parse_ospf_neighbor
from ikefleet.parsers.registry import (
    menu_of,
    parse_command_output,
    parser_for,
    stable,
    supported_commands,
    volatile_fields,
)
from ikefleet.parsers.routes import Route, parse_route
from ikefleet.parsers.system import Clock, NtpClient, Resource, parse_clock, parse_ntp_client, parse_resource
from ikefleet.parsers.system import Identity as SystemIdentity
from ikefleet.parsers.system import parse_identity as parse_system_identity

__all__ = [
    "ActivePeer",
    "Address",
    "BfdNeighbor",
    "Certificate",
    "Clock",
    "CommandFailed",
    "EoipInterface",
    "GenericRecord",
    "Identity",
    "InstalledSa",
    "Interface",
    "NtpClient",
    "OspfInterface",
    "OspfNeighbor",
    "ParseError",
    "Peer",
    "Policy",
    "Profile",
    "Proposal",
    "Resource",
    "Route",
    "RouterOSError",
    "SystemIdentity",
    "detect_error",
    "menu_of",
    "parse_active_peers",
    "parse_address",
    "parse_as_value_text",
    "parse_bfd_neighbor",
    "parse_bfd_session",
    "parse_certificate",
    "parse_clock",
    "parse_command_output",
    "parse_detail",
    "parse_eoip",
    "parse_generic",
    "parse_generic_settings",
    "parse_identity",
    "parse_installed_sa",
    "parse_interface",
    "parse_json_text",
    "parse_ntp_client",
    "parse_ospf_interface",
    "parse_ospf_neighbor",
    "parse_peer",
    "parse_policy",
    "parse_profile",
    "parse_proposal",
    "parse_resource",
    "parse_route",
    "parse_system_identity",
    "parse_terse",
    "parser_for",
    "stable",
    "supported_commands",
    "volatile_fields",
]
