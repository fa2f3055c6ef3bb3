"""The web survey: the same survey link answered in any browser, beside the Telegram bot."""
