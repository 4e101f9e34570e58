"""Protection: the per-patient ledger of the high-cost protection (högkostnadsskydd): periods, sums,
free cards (frikort), and what every fee costs the patient."""
