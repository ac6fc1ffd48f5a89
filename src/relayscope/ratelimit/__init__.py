"""Rate limiting: ``Helicone-RateLimit-Policy`` headers and operator (standing) policies.

Counters live in process memory (one gateway) or in Redis (replicas); see
docs/ratelimit.md for the policy syntax, the algorithm and the settings.
"""
