"""Access: the HSA mirror, agreements, approved integrated systems, authorization decisions and
the audit log. So far it owns its schema and serves its operations endpoints; the rest is issue 5."""
