"""Conformance tooling shared by the scenarios and the benchmark: the target switch, the bench."""
