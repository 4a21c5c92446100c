"""Messages in and out: the outbox, the inbox, what the sweeps read and the files sent."""
