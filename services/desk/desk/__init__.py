"""The desk (the web application): server-rendered pages over the other services' HTTP APIs, called as the
signed-in person. Care units without an integrated system, and every unit's desk (receptionen), use it."""
