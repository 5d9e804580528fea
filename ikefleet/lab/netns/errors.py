"""The one error of the netns backend: a setting it cannot reproduce faithfully with strongSwan or FRR."""

from __future__ import annotations

from typing import Protocol


class _Router(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def major_version(self) -> int: ...


class Untranslatable(ValueError):
    """Raised instead of approximating: `setting` names the RouterOS menu and field, `value` what was set."""

    def __init__(self, router: str, setting: str, value: str, why: str) -> None:
        self.router, self.setting, self.value, self.why = router, setting, value, why
        super().__init__(f"{router}: {setting}={value} cannot run on the netns backend: {why}")


def refuse_v7(router: _Router, version: str) -> None:
    """The translators read RouterOS 6 menus; a v7 router's OSPF/filter menus differ, so it is refused
    rather than run without them."""
    if router.major_version >= 7:
        raise Untranslatable(
            router.name, "/system resource version", version,
            "the netns backend translates RouterOS 6 configurations only (v7 menus are not translated)",
        )
