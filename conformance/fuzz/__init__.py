"""Property-based fuzzing of an Engine API daemon with schemathesis (see `python -m conformance.fuzz -h`)."""
