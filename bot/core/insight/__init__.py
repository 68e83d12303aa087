"""The insight feature: /stats and the weekly /digest."""
