"""The customer portal: the Settings > Subscription page of one account and everything it opens."""
