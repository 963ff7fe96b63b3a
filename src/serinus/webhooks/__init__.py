"""The webhook client: the eight hook types with Flagger's payload, timeouts, retries and signing."""
