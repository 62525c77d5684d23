"""Question answering with a LlamaIndex query engine over the same Chroma collection.

    python examples/llamaindex_query_engine.py

`VectorStoreIndex.from_vector_store` opens the collection quickstart.py fills (filled
here too if empty) through chromabridge's LlamaIndex face; nothing is re-embedded. The
LLM is LlamaIndex's `MockLLM`, taught to answer by quoting the retrieved context so the
example runs offline; pass any LlamaIndex LLM instead for real answers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.llms import MockLLM
from offline_llm import answer_from_prompt

from chromabridge import Pipeline, telemetry
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import LocalEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.quiet import quiet
from chromabridge.vectorstores import ChromaStore

DATA = Path(__file__).resolve().parent / "data"
QUESTIONS = [
    "Is the library open on Sundays?",
    "How much does 3D printing filament cost?",
    "How many hours a week do volunteers give?",
]


class QuotingMockLLM(MockLLM):
    """MockLLM that answers by quoting the context sentence closest to the query."""

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=answer_from_prompt(prompt))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=".chroma")
    parser.add_argument("--collection", default="harbor-point")
    parser.add_argument(
        "--verbose", action="store_true", help="show model-loading bars and library notices"
    )
    args = parser.parse_args()
    quiet(args.verbose)

    embedder = LocalEmbedder()
    store = ChromaStore(args.collection, path=args.path, embedder=embedder)
    if store.count() == 0:
        chunker = RecursiveChunker(120, 20, length="tokens", tokenizer=embedder.tokenizer)
        Pipeline(DirectoryLoader(DATA), chunker, embedder, store).run()

    index = VectorStoreIndex.from_vector_store(
        store.as_llamaindex(), embed_model=embedder.as_llamaindex()
    )
    engine = index.as_query_engine(llm=QuotingMockLLM(), similarity_top_k=3)

    print("== LlamaIndex ==")
    for question in QUESTIONS:
        response = engine.query(question)
        print(f"Q: {question}\nA: {response}")
        for node in response.source_nodes:
            print(f"   source: {Path(node.metadata['source']).name}  score={node.score:.3f}")


if __name__ == "__main__":
    with telemetry.exporting():  # CHROMABRIDGE_TRACE=console|otlp traces the run
        main()
