"""Stage 3: rules over a valid landscape: risk findings, change windows, access grants, prerequisites."""
