"""Verification: gather each router's state, derive the expected state from the plan, check, report."""
