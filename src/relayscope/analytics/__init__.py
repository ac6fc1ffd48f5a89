"""Analytics over the request log: rollups, exact percentiles and the ``/api`` queries."""
