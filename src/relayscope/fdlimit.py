"""The file-descriptor limit of a serving process, raised to what the system allows.

Every open stream holds two descriptors (the client's socket and the provider's),
so the usual soft limit of 1,024 caps a process near 500 streams whatever else is
configured. The hard limit is what the operator granted; the soft one is only a
default, so ``relayscope serve`` raises it (workers inherit it).
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger("relayscope")

_NR_OPEN = "/proc/sys/fs/nr_open"
_NR_OPEN_DEFAULT = 1024 * 1024
"""Linux's own default ceiling for a process's descriptors."""


@dataclass(frozen=True, slots=True)
class FdLimit:
    before: int
    after: int


def raise_fd_limit() -> FdLimit:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one (or the kernel's ceiling when
    the hard one is unlimited), and log the outcome."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else _kernel_ceiling()
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("file descriptors: could not raise %d to %d: %s", soft, target, exc)
            return FdLimit(soft, soft)
        log.info("file descriptors: soft limit raised from %d to %d", soft, target)
        return FdLimit(soft, target)
    log.info("file descriptors: soft limit %d (the hard limit is %s)", soft, _shown(hard))
    return FdLimit(soft, soft)


def _kernel_ceiling() -> int:
    try:
        with open(_NR_OPEN) as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return _NR_OPEN_DEFAULT


def _shown(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)
