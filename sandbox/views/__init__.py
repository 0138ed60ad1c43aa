"""The sandbox's views, one module per HubSpot API area, and pages.py for its own pages."""
