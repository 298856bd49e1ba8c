"""The Green tab: a TensorBoard plugin (backend routes + the bundled dashboard in ``static/``)."""
