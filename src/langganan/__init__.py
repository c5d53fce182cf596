"""langganan: a self-hosted prepaid subscription billing and entitlement engine."""

__version__ = "0.1.0"
