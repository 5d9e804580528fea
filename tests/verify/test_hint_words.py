"""Issue 21.7: verify's hints are written for the operator: no words from inside ikefleet (the seed
procedure, stories, evaluators), and a hint that says to act names how."""

from __future__ import annotations

import re

from ikefleet.verify.engine import load_checks

# words that mean something only to ikefleet's authors
INSIDE = re.compile(r"\b(seed|stor(?:y|ies)|evaluator|layer|reason)\b", re.IGNORECASE)


def test_no_hint_speaks_ikefleets_own_language() -> None:
    specs, _ = load_checks()
    found = {(s.id, r): text for s in specs for r, text in s.hint.items() if INSIDE.search(text)}
    assert not found


def test_a_hint_that_says_renew_names_the_command() -> None:
    specs, _ = load_checks()
    renew = [(s.id, text) for s in specs for text in s.hint.values() if re.search(r"\brenew", text)]
    assert renew and all("`ikefleet " in text for _, text in renew), renew
