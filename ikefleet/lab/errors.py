"""The one exception a lab command raises: its message is the RouterOS error text, sent as is."""


class CommandError(Exception):
    """A RouterOS console error, e.g. `no such item` or `bad command name foo (line 1 column 1)`."""
