"""Analyses of a model that rules share: fixed versus dynamic dims, YOLO heads, layout, export scripts, and
inspect's summary."""
