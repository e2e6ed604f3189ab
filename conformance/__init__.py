"""arrayport's conformance suite: laws every memory type must satisfy (``pytest conformance``)."""
