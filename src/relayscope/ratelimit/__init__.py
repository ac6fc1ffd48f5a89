"""Rate limiting: ``Helicone-RateLimit-Policy`` headers and operator (standing) policies.

Counters live in process memory (one gateway) or in Redis (replicas); see
docs/ratelimit.md for the policy syntax, the algorithm and the settings.
"""

# The root settings compose ``RateLimitSettings``, whose module needs
# ``config.setting``; loading the root first keeps that import cycle resolvable
# whichever module of this package is imported first.
from relayscope import config as _config  # noqa: F401
