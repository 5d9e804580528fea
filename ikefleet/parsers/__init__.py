"""Parsers: RouterOS command output to typed records."""
