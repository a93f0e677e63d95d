"""Preview: files written, the web view (FastAPI app in-process), and the CLI command."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

from fastapi.testclient import TestClient

from digest.app.preview import PreviewItem, write_preview
from digest.render import Renderer, default_templates_dir
from digest.render.samples import sample_branding, sample_message
from digest.web.preview_page import preview_app


def test_write_preview_writes_html_text_and_exact_eml(tmp_path: Path) -> None:
    _sub, rendered, message = sample_message()
    paths = write_preview(tmp_path / "out", rendered, message, "1000-reader0@example.org")
    assert [p.suffix for p in paths] == [".html", ".txt", ".eml"]
    assert paths[0].read_text(encoding="utf-8") == rendered.html
    assert paths[1].read_text(encoding="utf-8") == rendered.text
    assert paths[2].read_bytes() == message.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(paths[2].read_bytes())
    assert str(parsed["To"]).endswith("<reader0@example.org>")


def test_write_preview_keeps_the_stem_inside_the_directory(tmp_path: Path) -> None:
    _, rendered, message = sample_message()
    paths = write_preview(tmp_path, rendered, message, "../../etc/passwd")
    assert all(p.parent == tmp_path for p in paths)


def test_preview_app_shows_side_by_side_and_rerenders_on_template_edit(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), templates)
    renderer = Renderer(templates, branding=sample_branding())
    calls: list[datetime | None] = []

    def build(now: datetime | None) -> list[PreviewItem]:
        calls.append(now)
        return [sample_message(renderer, 0), sample_message(renderer, 1)]

    client = TestClient(preview_app(build, templates_dir=templates))
    index = client.get("/")
    assert index.status_code == 200
    assert "reader0@example.org" in index.text and "reader1@example.org" in index.text
    page = client.get("/m/1")
    assert page.status_code == 200
    assert 'width="375"' in page.text and 'width="600"' in page.text  # both widths
    assert "List-Unsubscribe-Post" in page.text  # headers table
    assert "&lt;https://digest.example.org/unsubscribe/tok1001&gt;" in page.text
    html = client.get("/m/1/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "Your weekly papers" in html.text
    eml = client.get("/m/0/eml")
    assert eml.headers["content-type"].startswith("message/rfc822")
    assert eml.content == sample_message(renderer, 0)[2].as_bytes()
    assert client.get("/m/7").status_code == 404
    built = len(calls)

    before = client.get("/_version").text
    main = templates / "digest.mjml.j2"
    main.write_text(main.read_text().replace("Your {{ edition.adjective }}", "Edited"))
    st = main.stat()
    os.utime(main, ns=(st.st_atime_ns, st.st_mtime_ns + 3_000_000_000))
    assert client.get("/_version").text != before  # the page's poller reloads on this
    assert "Edited papers" in client.get("/m/0/html").text
    assert len(calls) == built + 1
