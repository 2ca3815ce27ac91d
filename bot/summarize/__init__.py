"""Extractive summaries and query-biased snippets of Chinese news articles."""

from bot.summarize.flash import adds_to_title
from bot.summarize.snippets import Snippet, snippet
from bot.summarize.splitter import split_sentences
from bot.summarize.summarizer import SUMMARIZER_VERSION, summarize

__all__ = [
    "SUMMARIZER_VERSION",
    "Snippet",
    "adds_to_title",
    "snippet",
    "split_sentences",
    "summarize",
]
