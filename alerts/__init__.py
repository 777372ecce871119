"""newswatch's alerting: the outbox, Slack messages and delivery."""
