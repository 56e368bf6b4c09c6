"""Live text chat: job reqs with knockout questions, queues, the chats themselves (QuickChat, booth and support chats)."""
