"""The RKNN target: rknn-toolkit2 knowledge per version and chip, operator placement, known build failures, and the
toolkit runner."""
