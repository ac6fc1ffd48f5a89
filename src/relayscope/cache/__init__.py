"""Response caching: exact (Helicone's cache headers) and semantic, in memory or Redis.

``stage.CacheStage`` answers hits and stores responses; ``memory.MemoryBackend`` and
``redis_backend.RedisBackend`` keep entries; ``embedding`` and ``index`` make the
semantic cache; ``build.build`` puts them together from settings.
"""
