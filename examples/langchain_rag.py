"""Retrieval-augmented answers with LangChain (LCEL): retriever | prompt | LLM.

    python examples/langchain_rag.py

The collection is the one quickstart.py fills (it is filled here too if empty). The
retriever is chromabridge's store through its LangChain face, so this is the code a
LangChain user already writes. The LLM is `ChatOpenAI` when OPENAI_API_KEY is set and
`langchain-openai` is installed, else an offline stand-in that answers by quoting.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.language_models.chat_models import SimpleChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableParallel, RunnablePassthrough
from offline_llm import answer_from_prompt

from chromabridge import Pipeline, telemetry
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import LocalEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.quiet import quiet
from chromabridge.vectorstores import ChromaStore

DATA = Path(__file__).resolve().parent / "data"
QUESTIONS = [
    "How many items can I borrow at once with an adult card?",
    "How do I book a slot on the 3D printer?",
    "How many visitors did the library have in 2024?",
]
PROMPT = ChatPromptTemplate.from_template(
    "Answer the question using only this context.\n\nContext:\n{context}\n\n"
    "Question: {question}\nAnswer:"
)


class QuotingChatModel(SimpleChatModel):
    """Offline chat model: quotes the context sentence closest to the question."""

    def _call(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> str:
        return answer_from_prompt(str(messages[-1].content))

    @property
    def _llm_type(self) -> str:
        return "quoting-offline"


def chat_model() -> Any:
    if os.environ.get("OPENAI_API_KEY"):
        try:
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model="gpt-4o-mini", temperature=0)
        except ImportError:
            print("(langchain-openai is not installed: using the offline model)")
    return QuotingChatModel()


def format_docs(docs: list[Document]) -> str:
    return "\n\n".join(doc.page_content for doc in docs)


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
    if store.count() == 0:  # quickstart.py shows this step; done here so we stand alone
        chunker = RecursiveChunker(120, 20, length="tokens", tokenizer=embedder.tokenizer)
        Pipeline(DirectoryLoader(DATA), chunker, embedder, store).run()

    retriever = store.as_langchain().as_retriever(search_kwargs={"k": 3})
    answer = PROMPT | chat_model() | StrOutputParser()
    chain = RunnableParallel(
        docs=retriever, question=RunnablePassthrough()
    ) | RunnablePassthrough.assign(
        answer=lambda x: answer.invoke(
            {"context": format_docs(x["docs"]), "question": x["question"]}
        )
    )

    print("== LangChain ==")
    for question in QUESTIONS:
        result = chain.invoke(question)
        print(f"Q: {question}\nA: {result['answer']}")
        for doc in result["docs"]:
            print(f"   source: {Path(doc.metadata['source']).name}")


if __name__ == "__main__":
    with telemetry.exporting():  # CHROMABRIDGE_TRACE=console|otlp traces the run
        main()
