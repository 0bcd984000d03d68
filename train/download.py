"""``python -m train --download``: fetch the four MNIST .gz files once, checked, into the user cache.

``ensure_mnist(data_dir)`` returns a directory holding all four files, downloading only the
missing ones. Each file is tried on every mirror in turn (:data:`MIRRORS`, or the base URLs in
``$DIGIT_EDGE_MNIST_MIRRORS``) until one delivers bytes with the published md5. A file is
written to a temporary name beside its destination and renamed only once verified, so an
interrupted or corrupt download never leaves something the loader would pick up. Standard
library only (tqdm for a progress bar when installed), so it works before TensorFlow is there.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from train.mnist import MnistError, default_data_dir, has_all_files, user_cache_dir

# Tried in order. Both serve the files exactly as originally published (torchvision uses them).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRRORS_ENV = "DIGIT_EDGE_MNIST_MIRRORS"  # space- or comma-separated base URLs, replacing MIRRORS

# md5 of each .gz exactly as published with MNIST (and listed by torchvision). The loader's
# FILES table holds the md5 of the uncompressed bytes, which a recompressed copy also matches;
# a download is the original file, so its compressed bytes can be checked before anything else.
PUBLISHED_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

TIMEOUT_SECONDS = 30.0  # per connect or read; a stalled mirror is abandoned for the next one
CHUNK_BYTES = 1 << 16


class DownloadError(MnistError):
    """No mirror delivered a file intact (exit code 3, like any missing input)."""


@dataclass(frozen=True)
class Downloaded:
    """One file fetched: where it is now and which mirror it came from."""

    path: Path
    url: str
    size: int


def mirror_urls(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Base URLs to try, in order: ``$DIGIT_EDGE_MNIST_MIRRORS`` when set, else :data:`MIRRORS`."""
    environ = os.environ if environ is None else environ
    configured = [url for url in re.split(r"[\s,]+", environ.get(MIRRORS_ENV, "")) if url]
    return tuple(url if url.endswith("/") else url + "/" for url in (configured or MIRRORS))


def _progress(total: int | None, label: str, stream: IO[str]):
    """A tqdm byte counter on a terminal; elsewhere (CI, logs) one line per file, no bar."""
    if stream.isatty():
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
                        leave=False, file=stream)
    size = f" ({total / 1e6:.1f} MB)" if total else ""
    print(f"{label}{size}…", file=stream, flush=True)
    return _NoBar()


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def fetch(url: str, destination: Path, md5: str, *, timeout: float = TIMEOUT_SECONDS,
          stream: IO[str] | None = None) -> int:
    """Download ``url`` to ``destination`` if its md5 is ``md5``; returns the byte count.

    Raises :class:`DownloadError` for a bad status, a short read or a wrong md5, and lets
    ``OSError``/``http.client.HTTPException`` through for network failures; in every case
    (Ctrl-C included) the temporary file is removed and ``destination`` is untouched.
    """
    stream = stream or sys.stderr
    # Same directory as the destination, so the final rename is atomic (no cross-device copy).
    fd, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest, received = hashlib.md5(), 0
            with _progress(total, f"downloading {url}", stream) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    handle.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        # http.client returns a short body without complaint when the server hangs up early.
        if total is not None and received != total:
            raise DownloadError(f"connection closed after {received:,} of {total:,} bytes")
        if digest.hexdigest() != md5:
            raise DownloadError(f"md5 {digest.hexdigest()} is not the published {md5} "
                                "(corrupt, or not the official file)")
        os.replace(partial, destination)
        return received
    finally:
        partial.unlink(missing_ok=True)


def download_file(name: str, target: Path, md5: str, mirrors: Sequence[str], *,
                  timeout: float = TIMEOUT_SECONDS, stream: IO[str] | None = None) -> Downloaded:
    """Fetch ``name`` into ``target`` from the first mirror that delivers it intact."""
    failures = []
    for base in mirrors:
        url = base + name
        try:
            size = fetch(url, target / name, md5, timeout=timeout, stream=stream)
        except (OSError, http.client.HTTPException, ValueError, DownloadError) as error:
            # ValueError: a malformed mirror URL. Any failure means: try the next mirror.
            failures.append(f"{url}: {error}")
            print(f"  failed: {error}", file=stream or sys.stderr, flush=True)
            continue
        return Downloaded(path=target / name, url=url, size=size)
    tried = "; ".join(failures) or "no mirrors configured"
    raise DownloadError(f"could not download {name} from any mirror ({tried}). Check the network, "
                        f"or set ${MIRRORS_ENV} to mirrors that work, or copy the four files into a "
                        "directory yourself and pass it with --data-dir.")


def download_mnist(target: Path, *, mirrors: Sequence[str] | None = None,
                   md5s: Mapping[str, str] | None = None, timeout: float = TIMEOUT_SECONDS,
                   stream: IO[str] | None = None) -> list[Downloaded]:
    """Download each file of ``md5s`` (name -> .gz md5; default :data:`PUBLISHED_GZ_MD5`) that
    ``target`` lacks, as .gz or raw, from ``mirrors`` (default :func:`mirror_urls`)."""
    mirrors = mirror_urls() if mirrors is None else tuple(mirrors)
    md5s = PUBLISHED_GZ_MD5 if md5s is None else md5s
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create {target} for the MNIST download: {error}") from error
    done = []
    for name, md5 in md5s.items():
        if (target / name).is_file() or (target / name.removesuffix(".gz")).is_file():
            continue
        done.append(download_file(name, target, md5, mirrors, timeout=timeout, stream=stream))
    return done


def ensure_mnist(data_dir: str | os.PathLike[str] | None, **download_options) -> Path:
    """A directory with all four MNIST files: ``data_dir`` when given (filled in if incomplete);
    else the usual places when one is complete (nothing fetched); else the user cache, filled in.

    ``download_options`` go to :func:`download_mnist` (mirrors, md5s, timeout, stream).
    """
    if data_dir is not None:
        target = Path(data_dir)
    else:
        found = default_data_dir()
        if found is not None and found.is_dir() and has_all_files(found):
            return found
        target = user_cache_dir()
    if not has_all_files(target):
        download_mnist(target, **download_options)
    return target
