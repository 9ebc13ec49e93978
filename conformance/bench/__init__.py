"""`python -m conformance.bench`: Skiff against the reference Docker, measured in one run, interleaved."""
