"""Live text chat on the web: the JSON API, the two sockets (candidate, console), the candidate's pages and widget, the staff pages."""
