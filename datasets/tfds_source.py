"""TensorFlow Datasets sources: build, prepare (downloading on first use) and read, with one-line errors that say why.

Every `tfds:NAME` source of the gallery goes through `load` (or `get_builder`, `download_and_prepare` and
`as_dataset` when it must look at the builder first), so they all fail the same way and say what really went wrong:

- an unknown name: the dataset is not in tensorflow-datasets' catalogue;
- a missing Python module (tfds imports some lazily, only when a dataset is prepared): which one, and how to
  install it;
- a failed download: the host it could not reach and why (no network, refused, timed out, an HTTP status), with
  what to do instead;
- anything else: its type and first line.

The data folder is tfds's own (`~/tensorflow_datasets`), or `TFDS_DATA_DIR` when set, read at each call.
This module knows nothing of models or applications.
"""

from __future__ import annotations

import os
import re
import socket
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

# Import names whose pip distribution is spelled differently; the rest install under their own name.
PIP_NAMES = {
    "PIL": "pillow",
    "cv2": "opencv-python",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
}
LONGEST_DETAIL = 160


class TfdsSourceError(ValueError):
    """A `tfds:` source cannot be used; the message names the cause and the fix in one line."""


def data_root(data_dir: str | None = None) -> str:
    """The folder tfds prepares datasets in: `data_dir`, else `TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return data_dir or os.environ.get("TFDS_DATA_DIR") or str(Path("~/tensorflow_datasets").expanduser())


def get_builder(name: str, *, data_dir: str | None = None) -> Any:
    """The tfds builder of `name` (e.g. `tiny_shakespeare`, `ted_hrlr_translate/pt_to_en`); nothing is downloaded."""
    if not name:
        raise TfdsSourceError("tfds: needs a dataset name, e.g. tfds:tiny_shakespeare")
    import tensorflow_datasets as tfds

    try:
        # None leaves tfds its own search of data folders (the default one and any a user registered).
        return tfds.builder(name, data_dir=data_dir or os.environ.get("TFDS_DATA_DIR") or None)
    except tfds.core.registered.DatasetNotFoundError:
        raise TfdsSourceError(f"tfds has no dataset {name!r}; check the name against the tfds catalogue") from None
    except Exception as error:  # a builder's module may import what is not installed, or fail its own way
        raise TfdsSourceError(explain(name, error, "build")) from None


def download_and_prepare(builder: Any, name: str) -> None:
    """Download and prepare the builder's data unless it already is; the step where network and lazy imports fail."""
    if not builder.is_prepared():
        # tfds retries a failed download ten times with growing waits: without a network that takes minutes, so
        # the wait is announced rather than left to look like a hang.
        print(
            f"tfds:{name} is not in {builder.data_dir_root} yet: downloading and preparing it "
            "(tfds retries a failed download for about three minutes before giving up)",
            flush=True,
        )
    try:
        builder.download_and_prepare()
    except Exception as error:  # tfds raises many kinds; `explain` sorts them into what the user can act on
        raise TfdsSourceError(explain(name, error, "prepare", data_dir=str(builder.data_dir_root))) from None


def as_dataset(builder: Any, name: str, split: Any, **options: Any) -> Any:
    """The prepared split (or a list of splits) as tf.data, with tfds's `as_dataset` options."""
    try:
        return builder.as_dataset(split=split, **options)
    except Exception as error:  # an unknown split, a corrupt or half-copied data folder
        raise TfdsSourceError(explain(name, error, "read")) from None


def load(name: str, split: Any, *, data_dir: str | None = None, **options: Any) -> tuple[Any, Any]:
    """`(dataset or datasets, info)` of `name`, prepared first: `tfds.load` with the errors explained."""
    builder = get_builder(name, data_dir=data_dir)
    download_and_prepare(builder, name)
    return as_dataset(builder, name, split, **options), builder.info


def explain(name: str, error: BaseException, step: str, *, data_dir: str | None = None) -> str:
    """One line saying why `tfds:NAME` failed at `step` (build, prepare or read) and what to do about it."""
    missing = missing_module(error)
    if missing:
        pip_name = PIP_NAMES.get(missing, missing)
        return (
            f"tfds:{name} needs the Python module {missing!r}, which is not installed; "
            f"install it with `pip install {pip_name}` and run again"
        )
    failed_download = download_failure(error)
    if failed_download:
        host, reason = failed_download
        where = f" from {host}" if host else ""
        return (
            f"could not download tfds:{name}{where} ({reason}); tfds downloads a dataset on first use, so connect "
            f"to the network and run again, or run `tfds build {name}` where there is network and copy its data "
            f"folder into {data_root(data_dir)}"
        )
    return f"could not {step} tfds:{name} ({type(error).__name__}: {first_line(error)})"


def missing_module(error: BaseException) -> str | None:
    """The top-level name of the module whose import failed anywhere in the error's chain, or None."""
    for link in chain(error):
        if not isinstance(link, ImportError):
            continue
        name = link.name
        if not name:
            # tfds's lazy importer re-raises with its own text ("Failed importing X. ..."), losing `name`.
            found = re.search(r"No module named '([^']+)'|Failed importing ([\w.]+)", str(link))
            name = found and (found.group(1) or found.group(2))
        if name:
            return name.split(".")[0]
    return None


def download_failure(error: BaseException) -> tuple[str | None, str] | None:
    """`(host, reason)` when the error's chain is a failed download (a network error or an HTTP status), else None."""
    network_errors: tuple[type[BaseException], ...] = (
        urllib.error.URLError,
        socket.gaierror,
        socket.timeout,
        ConnectionError,
        TimeoutError,
    )
    try:
        import requests
        import tensorflow_datasets as tfds

        # tfds's DownloadError: the server answered with a status other than 200.
        network_errors += (requests.exceptions.RequestException, tfds.download.DownloadError)
    except ImportError:  # both come with tfds; without them only the standard library's errors are known
        pass
    for link in chain(error):
        if not isinstance(link, network_errors):
            continue
        text = str(link)
        host = _host_of(link, text)
        resolution = re.search(r"NameResolution|Failed to resolve|Name or service not known|getaddrinfo", text)
        if resolution or isinstance(link, socket.gaierror):
            reason = "its host name could not be resolved: is there a network connection?"
        elif "refused" in text.lower():
            reason = "the connection was refused"
        elif "timed out" in text.lower() or isinstance(link, (TimeoutError, socket.timeout)):
            reason = "the connection timed out"
        elif status := re.search(r"HTTP code: (\d+)|(\d{3}) (?:Client|Server) Error", text):
            reason = f"the server answered HTTP {status.group(1) or status.group(2)}"
        else:
            reason = f"{type(link).__name__}: {first_line(link)}"
        return host, reason
    return None


def chain(error: BaseException) -> list[BaseException]:
    """The error and those it was raised from or during, outermost first, each once."""
    links: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in links):
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


def first_line(error: BaseException) -> str:
    """The first line of the error's message, shortened, or its type when it has none."""
    lines = str(error).strip().splitlines()
    line = lines[0] if lines else type(error).__name__
    return line if len(line) <= LONGEST_DETAIL else line[: LONGEST_DETAIL - 3] + "..."


def _host_of(error: BaseException, text: str) -> str | None:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None) or getattr(error, "url", None)
    if not url:
        found = re.search(r"https?://[^\s'\"]+", text)
        url = found.group(0) if found else None
    if url:
        return urllib.parse.urlparse(url).hostname
    found = re.search(r"host='([^']+)'", text)
    return found.group(1) if found else None
