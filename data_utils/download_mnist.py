"""Optional: fetch the official MNIST files from a mirror, checking each file's MD5.

    python -m data_utils.download_mnist [--dest data/mnist] [--mirror URL]

The repository already ships the test set and the first 10,000 training images; this gets the
full 60,000-image training set (``train-images-idx3-ubyte.gz``) and its companions. Nothing in the
book or the tests downloads anything.
"""

from __future__ import annotations

import argparse
import hashlib
import urllib.request
from pathlib import Path

from data_utils.paths import REPO_ROOT

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/")

#: MD5 of the official gzipped files (the values torchvision checks).
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


class ChecksumError(RuntimeError):
    """A downloaded file does not have the expected MD5."""


def download(dest: str | Path, mirror: str = MIRRORS[0], files: dict[str, str] | None = None, timeout: float = 60.0) -> list[Path]:
    """Download ``files`` (name → md5) from ``mirror`` into ``dest``; skip files already present and correct."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, md5 in (files or OFFICIAL_MD5).items():
        target = dest / name
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == md5:
            written.append(target)
            continue
        with urllib.request.urlopen(mirror.rstrip("/") + "/" + name, timeout=timeout) as response:
            data = response.read()
        got = hashlib.md5(data).hexdigest()
        if got != md5:
            raise ChecksumError(f"{name} from {mirror}: MD5 {got} != expected {md5}; try another mirror with --mirror")
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=REPO_ROOT / "data" / "mnist")
    parser.add_argument("--mirror", default=MIRRORS[0])
    args = parser.parse_args()
    for path in download(args.dest, args.mirror):
        print(f"ok {path}")


if __name__ == "__main__":
    main()
