"""The demo: the bot trading live on a local devnet (`make demo`)."""
