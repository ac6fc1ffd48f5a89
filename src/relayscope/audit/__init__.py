"""The audit log: who changed what in an org, and when.

Every call of the JSON API that changes something needs an admin key
(``relayscope.api.auth``); each such call, allowed or refused, is recorded with the
key that made it, whether it came from the API or a dashboard form, and what it sent
(secrets masked). Admins read it at ``/api/audit-log`` and on the dashboard.
"""
