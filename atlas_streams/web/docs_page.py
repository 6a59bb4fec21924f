"""The API reference page: plain HTML rendered from the OpenAPI document, no script at all.

A worker often runs where the internet is out of reach, so the page loads nothing from
outside (Swagger UI and Redoc fetch their bundles from a CDN by default) and needs no key.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

__all__ = ["render_docs"]

_CODE = re.compile(r"`([^`]+)`")  # the document's CommonMark code spans
_STYLE = """
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d2433;background:#f7f8fa}
header,main{max-width:72rem;margin:0 auto;padding:1rem 1.4rem}
h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem;text-transform:capitalize}
nav a{margin-right:.8rem}a{color:#1d4ed8}
details{background:#fff;border:1px solid #d0d5dd;border-radius:8px;margin:.4rem 0;padding:.4rem .8rem}
summary{cursor:pointer;overflow-wrap:anywhere}summary:focus-visible{outline:3px solid #1d4ed8}
.m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:ui-monospace,monospace}
.get{color:#067647}.post{color:#1d4ed8}.put{color:#9a3412}.delete{color:#b42318}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#f2f4f7;padding:.6rem;border-radius:6px;overflow:auto;max-height:24rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .4rem;
border-bottom:1px solid #eaecf0;vertical-align:top}.muted{color:#475467}
"""


def render_docs(document: dict[str, Any]) -> str:
    """Return the HTML reference of an OpenAPI document."""
    info = document["info"]
    by_tag: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = operation.get("tags", ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(method, path, operation))
    sections = "".join(
        f'<section id="{escape(tag)}"><h2>{escape(tag)}</h2>{"".join(items)}</section>'
        for tag, items in by_tag.items()
    )
    nav = " ".join(f'<a href="#{escape(t)}">{escape(t)}</a>' for t in by_tag)
    schemas = "".join(
        f'<details id="schema-{escape(name)}"><summary><code>{escape(name)}</code></summary>'
        f"<pre>{escape(json.dumps(schema, indent=2))}</pre></details>"
        for name, schema in document["components"]["schemas"].items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(info['title'])} API {escape(info['version'])}</title>"
        f"<style>{_STYLE}</style></head><body><header>"
        f"<h1>{escape(info['title'])} API <span class=\"muted\">{escape(info['version'])}</span></h1>"
        f"<p>{escape(info['description'])}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). '
        'Dashboard: <a href="/">/</a>.</p>'
        f'<nav aria-label="sections">{nav} <a href="#schemas">schemas</a></nav></header>'
        f'<main>{sections}<section id="schemas"><h2>schemas</h2>{schemas}</section></main>'
        "</body></html>"
    )


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    params = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{'required' if p.get('required') else 'optional'}</td>"
        f"<td>{_schema_text(p.get('schema', {}))}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in operation.get("parameters", [])
    )
    body = operation.get("requestBody")
    body_html = ""
    if body:
        (ctype, media), = body["content"].items()
        body_html = (f"<p><b>Body</b> <code>{escape(ctype)}</code>: "
                     f"{_schema_text(media.get('schema', {}))}</p>")
    responses = "".join(
        f"<tr><td><code>{escape(status)}</code></td><td>{escape(r['description'])}</td><td>"
        + ", ".join(f"<code>{escape(c)}</code> {_schema_text(m.get('schema', {}))}"
                    for c, m in r.get("content", {}).items())
        + "</td></tr>"
        for status, r in operation["responses"].items()
    )
    description = "".join(f"<p>{_code_spans(par)}</p>"
                          for par in operation.get("description", "").split("\n\n") if par)
    param_table = (f"<table><tr><th>parameter</th><th>in</th><th></th><th>type</th><th></th>"
                   f"</tr>{params}</table>") if params else ""
    return (
        f'<details id="{escape(operation["operationId"])}"><summary>'
        f'<span class="m {method}">{method.upper()}</span> <code>{escape(path)}</code> '
        f'<span class="muted">{escape(operation["summary"])}</span></summary>'
        f"{description}{param_table}{body_html}"
        f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{responses}</table>"
        "</details>"
    )


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "enum" in schema:
        return " | ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    return escape(str(schema.get("format") or schema.get("type") or "any"))


def _code_spans(text: str) -> str:
    return _CODE.sub(r"<code>\1</code>", escape(text))
