"""testinfra checks of the two daemon hosts, as an operator would look at them (`tox -e hosts`)."""
