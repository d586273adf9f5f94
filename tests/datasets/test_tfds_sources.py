"""The `tfds:` sources through tfds's real preparation path: a tiny builder served from 127.0.0.1, every named source.

No mocks of tfds here: a builder defined below downloads from a server the test starts, is prepared into a
temporary data folder and read back through the gallery's loaders. Each source the READMEs name is built and
driven to its download, where only the host-name lookup (the lowest network call) is replaced by an offline one.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from datasets import audio_files, captions, pairs, speech, text, tfds_source  # noqa: E402
from gallery.cli import run_cli  # noqa: E402

SERVED_LINES = ("To be, or not to be: that is the question.\n", "Brevity is the soul of wit.\n", "Exeunt.\n")
MISSING_MODULE = "gallery_module_that_is_not_installed"


class GalleryTinyText(tfds.core.GeneratorBasedBuilder):
    """Three lines of text downloaded from `download_url`, one per split (train, validation, test)."""

    VERSION = tfds.core.Version("1.0.0")
    download_url = ""

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({"text": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
        lines = dl_manager.download(self.download_url).read_text().splitlines(keepends=True)
        return {
            "train": self._generate_examples(lines[0]),
            "validation": self._generate_examples(lines[1]),
            "test": self._generate_examples(lines[2]),
        }

    def _generate_examples(self, line):
        yield 0, {"text": line}


class GalleryNeedsAModule(tfds.core.GeneratorBasedBuilder):
    """A builder that, like many tfds builders, imports an optional module only when it prepares its data."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({"text": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
        import gallery_module_that_is_not_installed  # noqa: F401

        return {}

    def _generate_examples(self):
        yield 0, {"text": ""}


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch):
    """A fresh tfds data folder per test, and no proxy between the loaders and 127.0.0.1."""
    folder = tmp_path / "tensorflow_datasets"
    monkeypatch.setenv("TFDS_DATA_DIR", str(folder))
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return folder


@pytest.fixture
def local_server():
    """An HTTP server on 127.0.0.1 serving /tiny.txt (and 404 for anything else); yields (base URL, paths asked)."""
    asked: list[str] = []
    body = "".join(SERVED_LINES).encode("utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            asked.append(self.path)
            if self.path != "/tiny.txt":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline(monkeypatch):
    """Every host-name lookup fails as on a machine without network; yields the hosts that were looked up."""
    import urllib3.util.retry

    looked_up: list[str] = []
    last_call = [time.monotonic()]

    def no_network(host, *args, **kwargs):
        looked_up.append(host.decode() if isinstance(host, bytes) else str(host))
        last_call[0] = time.monotonic()
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    # tfds retries a failed connection with growing waits (minutes in all); the retries still run, without the waits.
    monkeypatch.setattr(urllib3.util.retry.Retry, "sleep", lambda self, response=None: None)
    yield looked_up
    # tfds downloads a dataset's files in parallel and stops waiting at the first failure: let the others fail here
    # too before the real resolver comes back.
    deadline = time.monotonic() + 10
    while time.monotonic() - last_call[0] < 0.5 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_builder_served_from_localhost_is_prepared_and_read_back(local_server, data_folder, monkeypatch):
    base_url, asked = local_server
    monkeypatch.setattr(GalleryTinyText, "download_url", f"{base_url}/tiny.txt")
    corpus = text.load_corpus("tfds:gallery_tiny_text")
    assert corpus.text == "".join(SERVED_LINES)
    assert corpus.description == "TensorFlow Datasets gallery_tiny_text (train + validation + test)"
    assert asked == ["/tiny.txt"]
    assert (data_folder / "gallery_tiny_text" / "1.0.0" / "dataset_info.json").is_file()
    # Prepared once: the next load reads the data folder and asks the server nothing.
    validation, info = tfds_source.load("gallery_tiny_text", "validation")
    assert [example["text"].decode() for example in tfds.as_numpy(validation)] == [SERVED_LINES[1]]
    assert info.splits["train"].num_examples == 1
    assert asked == ["/tiny.txt"]


def test_an_http_error_is_reported_as_a_failed_download(local_server, monkeypatch):
    base_url, asked = local_server
    monkeypatch.setattr(GalleryTinyText, "download_url", f"{base_url}/gone.txt")
    with pytest.raises(text.TextDataError) as caught:
        text.load_corpus("tfds:gallery_tiny_text")
    message = str(caught.value)
    assert message.startswith("could not download tfds:gallery_tiny_text from 127.0.0.1 (the server answered HTTP 404)")
    assert "\n" not in message
    assert asked == ["/gone.txt"]


def test_a_refused_connection_is_reported_as_a_failed_download(monkeypatch):
    import urllib3.util.retry

    monkeypatch.setattr(urllib3.util.retry.Retry, "sleep", lambda self, response=None: None)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(GalleryTinyText, "download_url", f"http://127.0.0.1:{port}/tiny.txt")
    with pytest.raises(text.TextDataError, match=r"from 127\.0\.0\.1 \(the connection was refused\)"):
        text.load_corpus("tfds:gallery_tiny_text")


def test_a_missing_module_is_named_with_its_install_command(tmp_path, capsys):
    with pytest.raises(text.TextDataError) as caught:
        text.load_corpus("tfds:gallery_needs_a_module")
    assert str(caught.value) == (
        f"tfds:gallery_needs_a_module needs the Python module '{MISSING_MODULE}', which is not installed; "
        f"install it with `pip install {MISSING_MODULE}` and run again"
    )
    from gallery.language_model import APP

    argv = ["--preset", "smoke", "--data", "tfds:gallery_needs_a_module", "--out", str(tmp_path / "runs")]
    assert run_cli(APP, argv) == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert error_lines[-1].endswith(
        f"needs the Python module '{MISSING_MODULE}', which is not installed; "
        f"install it with `pip install {MISSING_MODULE}` and run again"
    )
    assert not any("Traceback" in line for line in error_lines)


def test_the_pip_name_is_given_where_it_differs_from_the_module_name():
    error = ModuleNotFoundError("No module named 'cv2'", name="cv2")
    assert "`pip install opencv-python`" in tfds_source.explain("some_set", error, "prepare")


def test_an_unknown_name_says_so():
    with pytest.raises(tfds_source.TfdsSourceError, match="tfds has no dataset 'no_such_dataset_anywhere'"):
        tfds_source.load("no_such_dataset_anywhere", "train")


# Every tfds source the READMEs name: how the gallery loads it, the error it raises, and the host its files are on.
NAMED_SOURCES = {
    "tiny_shakespeare": (
        lambda: text.load_corpus("tfds:tiny_shakespeare"),
        text.TextDataError,
        "raw.githubusercontent.com",
    ),
    "speech_commands": (
        lambda: speech.load("tfds:speech_commands"),
        audio_files.DataSourceError,
        "download.tensorflow.org",
    ),
    "spoken_digit": (lambda: speech.load("tfds:spoken_digit"), audio_files.DataSourceError, "github.com"),
    "coco_captions": (
        lambda: captions.load_tfds_captions("coco_captions", 32, max_images=8),
        ValueError,
        "images.cocodataset.org",
    ),
    "ted_hrlr_translate/pt_to_en": (
        lambda: pairs.tfds_pairs("ted_hrlr_translate/pt_to_en"),
        ValueError,
        "www.phontron.com",
    ),
}


@pytest.mark.parametrize("name", sorted(NAMED_SOURCES))
def test_each_named_source_reaches_its_download_and_reports_the_network(name, offline, data_folder):
    load, error_type, host = NAMED_SOURCES[name]
    with pytest.raises(error_type) as caught:
        load()
    message = str(caught.value)
    assert host in offline
    assert message.startswith(f"could not download tfds:{name} from {host} (its host name could not be resolved")
    assert "network" in message and "\n" not in message
    assert f"copy its data folder into {data_folder}" in message


def test_the_command_line_reports_the_network_in_one_line(offline, tmp_path, capsys):
    from gallery.language_model import APP

    argv = ["--preset", "smoke", "--data", "tfds:tiny_shakespeare", "--out", str(tmp_path / "runs")]
    assert run_cli(APP, argv) == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert error_lines[-1].startswith(
        "python -m gallery.language_model: error: could not download tfds:tiny_shakespeare from "
        "raw.githubusercontent.com (its host name could not be resolved: is there a network connection?)"
    )
    assert not any("No module" in line or "Traceback" in line for line in error_lines)
