"""ikefleet.tasks: installed under the ikefleet namespace (see setup.py)."""
