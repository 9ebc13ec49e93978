"""skiff-shim: the per-container process between skiff-containerd and the OCI runtime.

Only :mod:`skiff.shim.protocol` is meant to be imported by other layers; everything else runs inside the
shim process and imports nothing beyond the standard library and :mod:`skiff.errdefs`.
"""
