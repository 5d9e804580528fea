"""Packages: ikefleet and its subpackages, plus tasks/, runbooks/ and templates/ under the ikefleet namespace."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["ikefleet", "ikefleet.*"]), "ikefleet.tasks", "ikefleet.runbooks", "ikefleet.templates"])
