"""The one error of the netns backend: a setting it cannot reproduce faithfully with strongSwan or FRR."""

from __future__ import annotations


class Untranslatable(ValueError):
    """Raised instead of approximating: `setting` names the RouterOS menu and field, `value` what was set."""

    def __init__(self, router: str, setting: str, value: str, why: str) -> None:
        self.router, self.setting, self.value, self.why = router, setting, value, why
        super().__init__(f"{router}: {setting}={value} cannot run on the netns backend: {why}")
