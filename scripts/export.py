"""Export a `litlab fit` checkpoint as TorchScript, ONNX or a torch.export program, with a JSON sidecar.

    python scripts/export.py --ckpt_path logs/synthetic_mlp/version_0/checkpoints/last.ckpt --format onnx

The model takes the normalized float32 input; the sidecar (<model file>.json) holds mean/std, class
names and shapes. See `litlab.checkpoints.export` for details.
"""

import argparse
import sys

from litlab.checkpoints.export import FORMATS, export
from litlab.command.errors import LitlabError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by `litlab fit`")
    parser.add_argument("--format", choices=list(FORMATS), default="torchscript")
    parser.add_argument("--out", default=None, help="output folder (default: the checkpoint's folder)")
    args = parser.parse_args()
    try:
        model_path, sidecar_path = export(args.ckpt_path, args.format, args.out)
    except LitlabError as error:
        sys.exit(f"export: error: {error}")
    print(f"model:   {model_path}\nsidecar: {sidecar_path}")


if __name__ == "__main__":
    main()
