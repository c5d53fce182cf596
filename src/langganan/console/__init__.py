"""The operator console for the SaaS's own staff."""
