"""What the user sets: every option of every command (table.py), the config file (config.py), their checking
(options.py), and deployment facts (--anchors, --classes, --mean, --std: deployment.py)."""
