"""Registration: takes fees in from integrated systems and the web application, checks them, keeps
every version of every fee, and passes them on to protection."""
