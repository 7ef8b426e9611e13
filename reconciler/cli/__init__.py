"""The command line: argument parsing and the commands that drive the stages."""
