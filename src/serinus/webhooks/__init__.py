"""The webhook client: Flagger's payload for the eight hook types, timeouts, retries and signing.

``client`` holds :class:`~serinus.webhooks.client.WebhookClient` (the ``Webhooks`` port),
``payloads`` the request bodies and the revision checksum and ``delivery`` the retrying POST; the
HMAC headers come from :mod:`serinus.signing`, which the load tester shares to verify them.
Importing the package does nothing else.
"""
