"""Packages: ikefleet and its subpackages, plus tasks/, runbooks/ and templates/ under ikefleet's name."""

from setuptools import find_packages, setup

MAPPED = ["ikefleet.tasks", "ikefleet.runbooks", "ikefleet.templates"]  # see package-dir in pyproject.toml

setup(packages=[*find_packages(include=["ikefleet", "ikefleet.*"]), *MAPPED])
