"""The `efrikort` command and what it needs to run the system on one machine."""
