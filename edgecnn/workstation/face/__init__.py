"""Face unlock on the workstation: train the embedder, measure FAR / FRR / EER, the demo."""
