"""skiff-containerd: metadata."""
