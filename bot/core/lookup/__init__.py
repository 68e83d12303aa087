"""The lookup feature: /genre and /similar of any track."""
