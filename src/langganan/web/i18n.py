"""The pages' messages in English and Bahasa Indonesia: `t("key", name=value)` in a template.

The texts are the gettext catalogs under src/langganan/locale (kit/translations.py reads them once per process);
`{name}` placeholders are filled by str.format, and a message a language lacks is said in English."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from langganan.kit.locales import LOCALES
from langganan.kit.translations import FALLBACK, messages


class Translator:
    def __init__(self, lang: str, texts: Mapping[str, str]) -> None:
        self.lang = lang
        self.messages = texts  # read-only
        self._texts = dict(texts)  # a plain dict's lookup, the cheapest there is (a page makes hundreds)

    def has(self, key: str) -> bool:
        return key in self._texts

    def __call__(self, key: str, **values: Any) -> str:
        text = self._texts.get(key) or key
        return text.format(**values) if values else text

    def error(self, code: str | None, **values: Any) -> str:
        """What an error code (a domain error's, a gateway's failure code) says in this language; a code the
        catalog does not know gets the generic sentence, never the raw code or another language's text."""
        key = f"error.{code}"
        return self(key, **values) if code and key in self.messages else self("error.generic")


def translator(lang: str) -> Translator:
    """The translator of `lang` ("en" or "id"; anything else is English), one per process and language."""
    return _translator(lang if lang in LOCALES else FALLBACK)


@cache
def _translator(lang: str) -> Translator:
    return Translator(lang, messages(lang))
