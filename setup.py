"""Packages: ikefleet and its subpackages, plus tasks/, runbooks/ and templates/ under ikefleet's name.

Namespace discovery, so data-only folders (the menu schemas under ikefleet/routeros/menus/v6, v7) are
packages too and setuptools installs them without a warning per folder.
"""

from setuptools import find_namespace_packages, setup

# See package-dir in pyproject.toml.
MAPPED = ["ikefleet.tasks", "ikefleet.runbooks", "ikefleet.templates", "ikefleet.templates.v7"]

setup(
    packages=[
        *find_namespace_packages(include=["ikefleet", "ikefleet.*"], exclude=["*.__pycache__"]),
        *MAPPED,
    ]
)
