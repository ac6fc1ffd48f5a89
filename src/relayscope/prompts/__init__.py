"""Prompt management: versioned chat templates, filled by header on proxied requests.

``stage.PromptStage`` fills requests, ``catalog.PromptCatalog`` caches look-ups,
``repository.PromptRepository`` stores prompts, ``api`` and ``cli`` manage them.
"""
