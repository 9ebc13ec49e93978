"""Moving images to and from registries (pull, push) and archives (export)."""
