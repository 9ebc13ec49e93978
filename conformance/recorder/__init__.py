"""Response recording and validation: a transparent proxy before a target, openapi-core on every answer."""
