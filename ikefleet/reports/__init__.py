"""Report writers for verification results: console, JSON, JUnit XML, Prometheus textfile."""
