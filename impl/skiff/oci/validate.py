"""Validate an OCI runtime config against the v1.3.0 schema with the pre-generated validator."""

from __future__ import annotations

from skiff.oci import _config_schema


class InvalidConfig(ValueError):
    """The config fails the OCI config schema; the message names the field, e.g. ``process.cwd``."""


def validate_config(config: object) -> None:
    try:
        _config_schema.validate(config)  # type: ignore[no-untyped-call]
    except _config_schema.JsonSchemaValueException as exc:
        message = str(exc)
        if message.startswith("data."):
            message = message[len("data."):]
        elif message.startswith("data "):
            message = "config " + message[len("data "):]
        raise InvalidConfig(message) from None
