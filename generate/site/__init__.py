"""Site stage: manifests under runs/ -> sprite sheets, figure data, Markdown pages -> mkdocs build."""
