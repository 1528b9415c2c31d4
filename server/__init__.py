"""The web application: HTTP layer, models, services and CLI of the village field survey system."""
