"""skiff-containerd: diff."""
