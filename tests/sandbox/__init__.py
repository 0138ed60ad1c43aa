"""Tests of the HubSpot sandbox, by HubSpot API area (as sandbox/views/)."""
