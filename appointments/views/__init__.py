"""Views: thin; each parses input, checks permission, calls one service, picks a template."""
