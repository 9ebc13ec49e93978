"""skiff-containerd: tasks."""
