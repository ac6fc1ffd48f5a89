"""Prompt errors; ``param`` names the header or field the caller used."""

from __future__ import annotations

from relayscope.errors import Conflict, NotFound


class PromptNotFound(NotFound):
    code = "prompt_not_found"

    def __init__(self, prompt_id: str, *, param: str | None = None) -> None:
        super().__init__(f"No prompt with id {prompt_id!r} in this org", param=param)
        self.prompt_id = prompt_id


class PromptVersionNotFound(NotFound):
    code = "prompt_version_not_found"

    def __init__(self, prompt_id: str, version: int | str, *, param: str | None = None) -> None:
        kind = "version" if isinstance(version, int) else "label"
        super().__init__(f"Prompt {prompt_id!r} has no {kind} {version!r}", param=param)
        self.prompt_id = prompt_id
        self.version = version


class PromptExists(Conflict):
    code = "prompt_exists"

    def __init__(self, prompt_id: str) -> None:
        super().__init__(
            f"Prompt {prompt_id!r} already exists: add versions with "
            f"POST /api/prompts/{prompt_id}/versions",
            param="id",
        )
