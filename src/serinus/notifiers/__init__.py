"""Alert notifiers: Slack, Microsoft Teams, Discord, Rocket.Chat, Google Chat, generic webhook."""
