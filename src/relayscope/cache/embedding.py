"""Local sentence embeddings for the semantic cache (the ``relayscope[semantic]`` extra).

The model is WordLlama's ``l2_supercat`` at 256 dimensions: static token embeddings
distilled from Llama 2's, average-pooled. Its wheel carries the weights (16 MB) and
the tokenizer, so nothing is downloaded; loading takes well under a second and an
embedding about 70 µs for a short prompt, so short texts are embedded on the event
loop and long ones in a thread.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("relayscope.cache")

DIMENSIONS = 256
INLINE_CHARS = 2000
"""Longer texts are embedded in a worker thread (past ~0.1 ms of work)."""


def available() -> bool:
    return importlib.util.find_spec("wordllama") is not None


class Embedder:
    """Loads the model once, on first use or ``load()``; ``embed`` gives unit vectors.

    A model that fails to load is reported once and semantic matching is off from
    then on (``embed`` returns None): requests go on with the exact cache.
    """

    def __init__(self) -> None:
        self._model: Any = None
        self._loading: asyncio.Future[Any] | None = None
        self._failed = False

    @property
    def loaded(self) -> bool:
        return self._model is not None

    async def load(self) -> bool:
        if self._model is None and not self._failed:
            if self._loading is None:
                self._loading = asyncio.ensure_future(asyncio.to_thread(_load_model))
            try:
                self._model = await asyncio.shield(self._loading)
            except Exception:
                if not self._failed:
                    self._failed = True
                    log.exception("semantic cache model failed to load; semantic matching is off")
        return self._model is not None

    async def embed(self, text: str) -> np.ndarray | None:
        if self._model is None and not await self.load():
            return None
        if len(text) <= INLINE_CHARS:
            return _embed(self._model, text)
        return await asyncio.to_thread(_embed, self._model, text)


def _load_model() -> Any:
    import wordllama

    package = Path(wordllama.__file__).parent
    # Both files ship inside the wheel; cache_dir points at them and downloads are off.
    model = wordllama.WordLlama.load(
        config="l2_supercat", dim=DIMENSIONS, cache_dir=package, disable_download=True
    )
    log.info("semantic cache model loaded (wordllama l2_supercat, %d dims)", DIMENSIONS)
    return model


def _embed(model: Any, text: str) -> np.ndarray:
    import numpy as np

    vector: np.ndarray = model.embed([text], norm=True)[0]
    clean: np.ndarray = np.nan_to_num(vector, copy=False)
    return clean
