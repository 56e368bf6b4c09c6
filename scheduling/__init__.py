"""The scheduling domain of Fairmeet: events, participants, 1-1 chats, slots, invites, outbox.

This package knows nothing of HTTP, templates or WebRTC; the web layer calls its actions.
"""
