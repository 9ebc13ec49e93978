"""Regenerate the Python modules of distribution.proto (``python -m skiff.core.api.generate_distribution``).

Same rules as ``generate`` (package-relative import in the grpc module, ruff-exempt stub), for the
Transfer service's own proto file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = "distribution"


def generate(out_dir: Path = HERE) -> None:
    import grpc_tools  # grpcio-tools is a dev dependency only
    from grpc_tools import protoc

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    rc = protoc.main(["protoc", f"-I{HERE}", f"-I{include}", f"--python_out={out_dir}",
                      f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", str(HERE / f"{PROTO}.proto")])
    if rc != 0:
        raise SystemExit(f"protoc failed with status {rc}")
    grpc_module = out_dir / f"{PROTO}_pb2_grpc.py"
    text = grpc_module.read_text()
    text = re.sub(rf"^import {PROTO}_pb2 as {PROTO}__pb2$", f"from . import {PROTO}_pb2 as {PROTO}__pb2",
                  text, flags=re.M)
    grpc_module.write_text(text)
    stub = out_dir / f"{PROTO}_pb2.pyi"
    stub.write_text("# ruff: noqa\n" + stub.read_text())


def main() -> None:
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)


if __name__ == "__main__":
    main()
