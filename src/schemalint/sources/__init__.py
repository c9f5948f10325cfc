"""Where migrations come from: files in migration order, git (`--since`), and the runners that apply them."""
