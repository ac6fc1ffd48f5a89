"""The logging pipeline: records, pricing, the batched writer, its disk spool and stage."""
