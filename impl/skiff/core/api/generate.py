"""Regenerate the Python gRPC modules from core.proto (``python -m skiff.core.api.generate``).

grpcio-tools writes ``import core_pb2 as core__pb2``; we rewrite it to a package-relative import so the
generated modules work inside ``skiff.core.api`` without touching ``sys.path``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(out_dir: Path = HERE) -> None:
    import grpc_tools  # grpcio-tools is a dev dependency only
    from grpc_tools import protoc

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(HERE / "core.proto"),
    ]
    rc = protoc.main(args)
    if rc != 0:
        raise SystemExit(f"protoc failed with status {rc}")
    grpc_module = out_dir / "core_pb2_grpc.py"
    text = grpc_module.read_text()
    text = re.sub(r"^import core_pb2 as core__pb2$", "from . import core_pb2 as core__pb2", text, flags=re.M)
    grpc_module.write_text(text)
    stub = out_dir / "core_pb2.pyi"
    stub.write_text("# ruff: noqa\n" + stub.read_text())


def main() -> None:
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)


if __name__ == "__main__":
    main()
