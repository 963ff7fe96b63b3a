"""``serinus rehearse``: the real state machine on a virtual clock against a scripted world."""
