"""`efrikort chaos`: an e-frikort of its own loaded while services are killed and servers restarted, then
checked: every submission one outcome, no fee twice, every ledger a fresh replay, one notice each."""
