"""`python -m chromabridge`: the same command as the `chromabridge` console script."""

from chromabridge.cli import main

if __name__ == "__main__":
    main()
