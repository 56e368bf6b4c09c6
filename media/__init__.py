"""Server-side WebRTC: ICE/TURN configuration, the network-check peer, and a Python room client."""
