"""What the user sets: command-line and configuration options, and deployment facts (--anchors, --classes, --mean, --std)."""
