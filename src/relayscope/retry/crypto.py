"""Encryption at rest for operator-configured provider keys (Fernet).

The key comes from ``RELAYSCOPE_SECRET_KEY`` (one Fernet key, or several separated
by commas: the first encrypts, all decrypt, which allows rotation). Without it, a
key is generated on first use into ``<data_dir>/secret.key`` with mode 0600.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("relayscope.retry")

SECRET_FILE = "secret.key"


class SecretBox:
    """Encrypts and decrypts short secrets; loads (or creates) its key on first use."""

    def __init__(self, secret_key: str, data_dir: Path) -> None:
        self._configured = secret_key
        self._data_dir = data_dir
        self._fernet: MultiFernet | None = None

    def encrypt(self, plaintext: str) -> str:
        return self._cipher().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """The plaintext, or None when no configured key can read ``token``."""
        try:
            return self._cipher().decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def _cipher(self) -> MultiFernet:
        if self._fernet is None:
            keys = [k.strip() for k in self._configured.split(",") if k.strip()]
            if not keys:
                keys = [self._file_key()]
            try:
                self._fernet = MultiFernet([Fernet(key) for key in keys])
            except ValueError:
                raise SystemExit(
                    "RELAYSCOPE_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes), e.g. "
                    "from: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from None
        return self._fernet

    def _file_key(self) -> str:
        path = self._data_dir / SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self._data_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # Written aside, then linked into place: another process never reads a half file.
        draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key + b"\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            return path.read_text().strip()
        finally:
            draft.unlink()
        log.warning(
            "RELAYSCOPE_SECRET_KEY is not set: generated a key into %s (mode 0600). Back it up; "
            "provider keys stored with it cannot be read without it.",
            path,
        )
        return key.decode()
