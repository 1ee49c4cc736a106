"""Knowledge base (知识库), canonical answers as an editorial workflow, and 集萃 batches."""
