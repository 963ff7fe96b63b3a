"""The webhook client: Flagger's payload for the eight hook types, timeouts, retries and signing.

``client`` holds :class:`~serinus.webhooks.client.WebhookClient` (the ``Webhooks`` port),
``payloads`` the request bodies and the revision checksum, ``delivery`` the retrying POST and
``signing`` the HMAC headers. Importing the package does nothing else.
"""
