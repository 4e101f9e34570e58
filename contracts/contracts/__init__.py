"""The messages e-frikort's services and the outside systems exchange.

Everything a producer and a consumer must agree on lives here and only here: the envelope,
the event payloads, the integration contract of journal systems, and the topic catalogue.
"""
