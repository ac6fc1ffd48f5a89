"""Alerts: rules over the request log, evaluated on a schedule, announced on channels."""
