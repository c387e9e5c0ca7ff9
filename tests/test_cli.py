"""The command line as an operator meets it: every bad input is named in a line or a few, with the
documented exit code and no traceback (``--debug`` shows one); ``--version``; each command's help
has a description, defaults and an example."""

import subprocess
import sys
import zipfile

import pytest
import yaml

from _support import SAMPLE, good_frame
from qi_equity.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.fixture
def extract(tmp_path):
    def write(name, frame=None, text=None, data=None):
        p = tmp_path / name
        if data is not None:
            p.write_bytes(data)
        elif text is not None:
            p.write_text(text)
        else:
            (frame if frame is not None else good_frame()).to_csv(p, index=False)
        return p
    return write


def test_a_header_only_extract_has_no_data_rows(capsys, extract):
    p = extract("empty.csv", text=",".join(good_frame().columns) + "\n")
    code, text = cli(capsys, "validate", str(p))
    assert code == EXIT_FAILED and "no data rows" in text


def test_an_empty_file_is_named_as_such(capsys, extract):
    code, text = cli(capsys, "validate", str(extract("nothing.csv", text="")))
    assert code == EXIT_USAGE and "nothing.csv: the file is empty" in text


def test_several_provider_codes_in_one_extract_are_named_with_counts(capsys, extract):
    df = good_frame()
    df.loc[2:, "provider_code"] = "XQY"
    code, text = cli(capsys, "validate", str(extract("two.csv", df)))
    assert code == EXIT_FAILED
    assert "must hold one provider's code; the file holds 2: XQY (2 rows), XQZ (2 rows)" in text
    code, _ = cli(capsys, "validate", str(extract("two.csv", df)), "--several-providers")
    assert code == EXIT_OK  # a national extract, by design


def test_a_code_that_differs_from_the_one_given_is_named_with_both(capsys, extract):
    code, text = cli(capsys, "validate", str(extract("xqz.csv")), "--provider-code", "XQB")
    assert code == EXIT_FAILED and "is XQZ in the file, but the config gives XQB for it" in text


def test_duplicate_header_names_are_named(capsys, extract):
    lines = good_frame().to_csv(index=False).splitlines()
    lines[0] = lines[0].replace("imd_decile", "sex")
    code, text = cli(capsys, "validate", str(extract("dup.csv", text="\n".join(lines) + "\n")))
    assert code == EXIT_USAGE and "duplicate column name(s) in the header: 'sex'" in text


def test_utf16_and_utf8_with_bom_are_read(capsys, extract):
    csv = good_frame().to_csv(index=False)
    for name, data in [("u16.csv", csv.encode("utf-16")), ("bom.csv", b"\xef\xbb\xbf" + csv.encode())]:
        code, text = cli(capsys, "validate", str(extract(name, data=data)))
        assert code == EXIT_OK and "4 rows meet the data contract" in text, name


def test_utf16_without_a_byte_order_mark_and_windows_1252_say_which_encoding(capsys, extract):
    csv = good_frame().to_csv(index=False)
    code, text = cli(capsys, "validate", str(extract("le.csv", data=csv.encode("utf-16-le"))))
    assert code == EXIT_USAGE and "looks like UTF-16 without a byte-order mark" in text
    cp = csv.replace("Ear Nose and Throat", "Ear Nose & Thr\u00f6at").encode("cp1252")
    code, text = cli(capsys, "validate", str(extract("cp.csv", data=cp)))
    assert code == EXIT_USAGE and "line 4 is not UTF-8 text" in text and "save it as 'CSV UTF-8'" in text


def test_an_excel_workbook_renamed_csv_is_recognised(capsys, tmp_path):
    p = tmp_path / "extract.csv"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    code, text = cli(capsys, "validate", str(p))
    assert code == EXIT_USAGE and "this is an Excel workbook (.xlsx)" in text and "CSV UTF-8" in text


def test_a_semicolon_delimited_file_gets_a_delimiter_hint_not_nine_missing_columns(capsys, extract):
    p = extract("semi.csv", text=good_frame().to_csv(index=False, sep=";"))
    code, text = cli(capsys, "validate", str(p))
    assert code == EXIT_USAGE and "delimited by semicolons" in text and "required column is missing" not in text


@pytest.mark.parametrize("value", ["garbage", "2026-02-30", "soon", "31/03/2026", "03/04/2026", "2026-3-31"])
def test_census_dates_on_the_command_line_are_iso_only(capsys, extract, value):
    with pytest.raises(SystemExit) as exit_:
        main(["validate", str(extract("x.csv")), "--census-date", value])
    out, err = capsys.readouterr()
    assert exit_.value.code == EXIT_USAGE and "Traceback" not in out + err
    assert "--census-date" in err and value in err
    assert ("not a calendar date" if value == "2026-02-30" else "YYYY-MM-DD") in err


@pytest.mark.parametrize("value", ["31/03/2026", "2026-02-30"])
def test_census_dates_in_a_config_are_iso_only(capsys, tmp_path, value):
    cfg = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())
    cfg["census_date"] = value
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    code, text = cli(capsys, "report", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r"))
    assert code == EXIT_USAGE and "census_date" in text and value in text
    assert not (tmp_path / "r").exists()  # nothing written


def test_a_missing_config_is_one_line(capsys, tmp_path):
    code, text = cli(capsys, "report", "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path))
    assert code == EXIT_USAGE and "missing.yaml: no such file" in text and len(text.strip().splitlines()) == 1


def test_a_config_that_is_not_yaml_names_the_line(capsys, tmp_path):
    (tmp_path / "c.yaml").write_text("name: x\nproviders: [\n  - code: XQA\n")
    code, text = cli(capsys, "report", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path))
    assert code == EXIT_USAGE and "not valid YAML (line" in text


def test_a_missing_extract_is_one_line(capsys, tmp_path):
    code, text = cli(capsys, "validate", str(tmp_path / "nope.csv"))
    assert code == EXIT_USAGE and "nope.csv: no such file" in text


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError):
        main(["--debug", "report", "--config", str(tmp_path / "missing.yaml")])


def test_version_and_help_with_descriptions_defaults_and_examples(capsys):
    from qi_equity import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"qi-equity {__version__}"
    for command in ["validate", "report", "aggregate", "audit", "sample-data", "national-data"]:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"qi-equity {command}" in text, command
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "(default: reports)" in capsys.readouterr().out


def test_the_installed_command_exits_with_the_documented_codes(tmp_path):
    """As a process (what cron sees): a usage error is 2 with one line on stderr."""
    exe = [sys.executable, "-m", "qi_equity.cli"]
    res = subprocess.run(exe + ["validate", str(tmp_path / "nope.csv")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
