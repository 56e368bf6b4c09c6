"""The organizer's pages: the event's roster (people, companies, import/export), and more beside it."""
