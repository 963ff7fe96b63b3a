"""Alert notifiers: Slack, Microsoft Teams, Discord, Rocket.Chat, Google Chat, generic webhook.

``notifier`` holds the classes the operator plugs into the ``Notifier`` port
(:class:`~serinus.notifiers.notifier.AlertNotifier`, ``ChannelNotifier``, and ``nop.NullNotifier``);
``routing`` the severity rule and AlertProvider lookup; ``registry`` the table of formats, one
module per provider; ``delivery`` the HTTP side. Importing the package does nothing else.
"""
