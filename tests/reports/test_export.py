"""Report export: the kit's exporter gives what nbconvert's HTMLExporter gives (compared after
parsing both), without its whole-page BeautifulSoup pass."""

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from qi_equity.reports.notebooks import TEMPLATES, export_html


def _notebook():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": '<p>Chart</p><img src="data:image/png;base64,AA==">',
                                                      "text/plain": "chart"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<img alt="A described chart" src="data:,">',
                                                      "text/plain": "chart"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    return nb


def test_export_equals_nbconvert_html_exporter_after_parsing():
    import copy

    nb = _notebook()
    ours = export_html(copy.deepcopy(nb))
    theirs, _ = HTMLExporter(template_name="qi_report", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                             exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    assert str(BeautifulSoup(ours, "html.parser")) == str(BeautifulSoup(theirs, "html.parser"))


def test_images_get_alt_text_and_outputs_are_focusable():
    soup = BeautifulSoup(export_html(_notebook()), "html.parser")
    alts = [img.get("alt") for img in soup.find_all("img")]
    assert alts == ["No description has been provided for this image", "A described chart"]
    outputs = soup.select("div.jp-OutputArea-output")
    assert outputs and all(o.get("tabindex") == "0" for o in outputs)
