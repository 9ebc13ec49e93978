"""skiff-containerd: content."""
