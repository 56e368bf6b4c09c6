"""The real-time hub: the WebSocket protocol, rooms, presence and delivery across app nodes."""
