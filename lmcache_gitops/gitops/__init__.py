"""Objects -> the GitOps tree: environments and overrides, strategic-merge patches, the layout, reports."""
