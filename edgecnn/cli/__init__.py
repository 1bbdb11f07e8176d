"""The `edgecnn` command (filled in below)."""
def main():
    pass
