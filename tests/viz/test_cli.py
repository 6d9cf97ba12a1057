"""``twin render``, ``twin report`` and ``twin dashboard`` option handling through the real entry point."""

from __future__ import annotations

from PIL import Image

from twin_app.cli.main import main


def test_render_reactor_png_and_html(tmp_path):
    assert main(["render", "reactor", "-o", str(tmp_path / "r.png"), "--vessel", "300", "--vessel", "360",
                 "--width", "400", "--height", "300"]) == 0
    assert Image.open(tmp_path / "r.png").size == (400, 300)
    assert main(["render", "reactor", "-o", str(tmp_path / "r.html")]) == 0
    assert "Mesh3d" in (tmp_path / "r.html").read_text() or "mesh3d" in (tmp_path / "r.html").read_text()


def test_render_reactor_from_a_real_twin_trace(tmp_path, real_outputs):
    """README's ``twin render reactor --trace``: the reactor twin's trace (tags in degC or K) colours the scene,
    the same scene the Python API (:func:`viz.reactor_scene_from_trace`) renders."""
    assert main(["render", "reactor", "--trace", str(real_outputs["trace"]), "-o", str(tmp_path / "r.html")]) == 0
    assert "deviation real − virtual" in (tmp_path / "r.html").read_text()


def test_render_errors_exit_2(tmp_path, capsys):
    assert main(["render", "reactr", "-o", str(tmp_path / "x.png")]) == 2
    assert "reactor" in capsys.readouterr().err
    assert main(["render", "line", "-o", str(tmp_path / "x.png")]) == 2


def test_report_of_a_trace_store(tmp_path, sample_dir):
    out = tmp_path / "trace.html"
    assert main(["report", str(sample_dir["trace"]), "-o", str(out)]) == 0
    text = out.read_text()
    assert "T1: real vs virtual" in text and "Provenance" in text


def test_report_missing_file_is_a_user_input_error_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.nc"), "-o", str(tmp_path / "x.html")]) == 2
    assert "nope.nc: no such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_dashboard_refuses_open_bind_without_token(monkeypatch, capsys):
    assert main(["dashboard", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "--token" in capsys.readouterr().err


def test_dashboard_line_trace_option_opens_the_line_page(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TWIN_DASHBOARD_DRY_RUN", "1")
    monkeypatch.setenv("COLUMNS", "200")
    # a store that `twin monitor` has not created yet: refused, unless --wait
    assert main(["dashboard", "--line-trace", str(tmp_path / "line.zarr"), "--port", "8123"]) == 2
    assert "line.zarr" in capsys.readouterr().err
    assert main(["dashboard", "--line-trace", str(tmp_path / "line.zarr"), "--port", "8123", "--wait"]) == 0
    assert "http://127.0.0.1:8123/line" in capsys.readouterr().out
    assert main(["dashboard", "--life-fit", str(tmp_path / "missing.nc")]) == 2
