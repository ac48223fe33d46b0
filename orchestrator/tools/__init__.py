"""Tools around the service: deploying pathway packages and simulating a pathway on a moved clock."""
