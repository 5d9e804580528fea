"""ikefleet.runbooks: installed under the ikefleet namespace (see setup.py)."""
