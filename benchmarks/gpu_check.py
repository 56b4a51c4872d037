"""The GPU check: one command, about 8 minutes of one GPU, figures ready for benchmarks/RESULTS.md.

    python3 benchmarks/gpu_check.py --wheels .whl --archive data/cifar10-jpg.tar.gz --out "$OUT"   # on the GPU
    python benchmarks/gpu_check.py --merge <folder it wrote>     # here: its sections into RESULTS.md
    python benchmarks/gpu_check.py --smoke --out /tmp/gpu        # the same code paths on the CPU, < 3 minutes
    python benchmarks/gpu_check.py --download-wheels .whl        # here, online: what the offline GPU lacks

In order of importance; a stage starts only while one as long as the longest so far still ends within `--budget-s`
(450 s; data preparation included), and a skipped stage is named in the output:
1. airbench94 (its own code, as published) and litlab's GPU fast recipe (configs/cifar10_fast.yaml +
   configs/trainer/gpu.yaml) side by side on the JPEG copy, one seed: test accuracy after every epoch and
   training time to 94% (or the best both reached), as a ratio (target: litlab within 1.25x).
2. configs/cifar10_cnn.yaml (ResNet-9, `make train`'s default) + gpu.yaml: final test accuracy (it promises
   >= 93%) and training time.
3. The fast recipe's second-epoch training time with bf16, channels-last and torch.compile each switched from
   the shipped setting (bf16 on, channels-last on, compile off).
4. Seeds 1 and 2 of stage 1, for a spread (not in --smoke: the same code as seed 0's).
"""

import argparse
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ("jsonargparse", "docstring-parser", "typeshed-client")  # from PyPI; airbench is built from its sdist


def download_wheels(folder: Path) -> None:
    """Here, online: this venv's versions of what the GPU image lacks, as wheels for any Python 3 platform."""
    from importlib.metadata import version

    folder.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", "-d", str(folder), *pins], check=True)
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), f"airbench=={version('airbench')}"], check=True)


def offline_environment(wheels: Path | None, work: Path) -> dict[str, str]:
    """Install `wheels` into work/site (offline, no dependencies, the machine's own packages untouched) and put
    it first on the path; the environment for child processes, which import litlab from this checkout's src/."""
    paths = [str(ROOT / "src")]
    if wheels is not None:
        site = work / "site"
        if not site.exists():
            found = sorted(str(w) for w in wheels.glob("*.whl"))
            install = ["install", "--quiet", "--no-index", "--no-deps", "--target", str(site), *found]
            subprocess.run([sys.executable, "-m", "pip", *install], check=True)
        paths.insert(0, str(site))
    sys.path[:0] = [*paths, str(ROOT)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}


def unpacked(archive: Path, work: Path) -> Path:
    target = work / "cifar10-jpg"
    if not (target / "train").is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="train/ and test/ image folder (default: unpack --archive)")
    parser.add_argument("--archive", default=str(ROOT / "data" / "cifar10-jpg.tar.gz"), help="the JPEG copy")
    parser.add_argument("--wheels", type=Path, help="wheels to install offline (see --download-wheels)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/litlab-gpu-check"), help="scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "gpu-check", help="where the figures go")
    parser.add_argument("--budget-s", type=float, help="start no stage after this many seconds (450; smoke: none)")
    parser.add_argument("--only", nargs="+", help="run only the stages whose names contain one of these words")
    parser.add_argument("--smoke", action="store_true", help="CPU, a few hundred images: the code paths only")
    parser.add_argument("--merge", type=Path, help="put a GPU run's figures (its --out) into benchmarks/")
    parser.add_argument("--download-wheels", type=Path, help="fetch the wheels --wheels takes, then stop")
    args = parser.parse_args()
    if args.download_wheels:
        return download_wheels(args.download_wheels)
    if args.merge:
        sys.path.insert(0, str(ROOT))
        from benchmarks.gpu_report import merge

        return merge(args.merge, ROOT / "benchmarks" / "RESULTS.md")
    start = time.perf_counter()
    if args.budget_s is None and not args.smoke:
        args.budget_s = 450.0
    args.work.mkdir(parents=True, exist_ok=True)
    env = offline_environment(args.wheels, args.work)
    from benchmarks.gpu_stages import run_stages

    source = Path(args.source) if args.source else unpacked(Path(args.archive), args.work)
    run_stages(source, args, env, start)


if __name__ == "__main__":
    main()
