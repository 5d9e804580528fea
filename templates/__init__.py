"""ikefleet.templates: installed under the ikefleet namespace (see setup.py)."""
