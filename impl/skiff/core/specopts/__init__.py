"""Spec options owned by one concern each (networking, resources), applied after specgen."""
