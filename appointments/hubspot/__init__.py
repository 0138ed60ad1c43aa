"""The only code that talks to HubSpot: OAuth (oauth.py), CRM calls (client.py), errors, schema."""
