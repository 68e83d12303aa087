"""The workout feature: /profile and /workout — live heart rate in, music and zone messages out."""
