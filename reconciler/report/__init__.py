"""Stage 7: present plans, results, access and status as text, Markdown and JSON."""
