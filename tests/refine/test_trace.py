"""read_trace: the recorder's format, user-made traces, and damaged files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tuneless.refine import RefinementWarning, read_trace


def write(tmp_path, text, name="trace.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_recorder_format_round_trips_exact_floats(tmp_path):
    rng = np.random.default_rng(0)
    l2, l1, lr = rng.random(5), rng.random(5) * 100, rng.random(5) * 1e-3
    lines = ["step,grad_l2,grad_l1,lr,loss"]
    for t in range(5):
        loss = "" if t == 2 else "%.17g" % (3.0 - t)
        lines.append(f"{t},{l2[t]:.17g},{l1[t]:.17g},{lr[t]:.17g},{loss}")
    trace = read_trace(write(tmp_path, "\n".join(lines) + "\n"))
    assert trace.norm_columns == ("grad_l2", "grad_l1")
    np.testing.assert_array_equal(trace.step, np.arange(5))
    np.testing.assert_array_equal(trace.grad_l2, l2)  # %.17g is exact
    np.testing.assert_array_equal(trace.grad_l1, l1)
    np.testing.assert_array_equal(trace.lr, lr)
    assert np.isnan(trace.loss[2])
    np.testing.assert_array_equal(np.delete(trace.loss, 2), [3.0, 2.0, 0.0, -1.0])
    assert len(trace) == 5


def test_several_param_groups_and_unknown_columns_are_ignored(tmp_path):
    text = "step,grad_l2,grad_l1,lr,lr_1,lr_2,loss,extra\n0,1,2,0.1,0.2,0.3,5,x\n1,3,4,0.1,0.2,0.3,4,y\n"
    trace = read_trace(write(tmp_path, text))
    np.testing.assert_array_equal(trace.grad_l1, [2, 4])
    np.testing.assert_array_equal(trace.lr, [0.1, 0.1])
    np.testing.assert_array_equal(trace.loss, [5, 4])


@pytest.mark.parametrize("column", ["grad_l2", "grad_l1"])
def test_user_made_trace_with_one_norm_column(tmp_path, column):
    trace = read_trace(write(tmp_path, f"step,{column}\n0,1.5\n1,2.5\n2,nan\n"))
    assert trace.norm_columns == (column,)
    np.testing.assert_array_equal(trace.norms(column)[:2], [1.5, 2.5])
    assert np.isnan(trace.norms(column)[2])
    other = "grad_l1" if column == "grad_l2" else "grad_l2"
    assert np.isnan(getattr(trace, other)).all() and np.isnan(trace.lr).all() and np.isnan(trace.loss).all()
    with pytest.raises(ValueError, match=f"has no {other} column"):
        trace.norms(other)


def test_empty_file_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ValueError, match=f"trace {path}: empty file"):
        read_trace(path)


def test_header_without_rows_is_an_error(tmp_path):
    path = write(tmp_path, "step,grad_l2,grad_l1,lr,loss\n")
    with pytest.raises(ValueError, match="no rows after the header"):
        read_trace(path)


def test_header_without_a_norm_column_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="line 1: no column named like a gradient norm"):
        read_trace(write(tmp_path, "step,lr\n0,1\n"))


def test_malformed_row_names_file_and_line(tmp_path):
    path = write(tmp_path, "step,grad_l2\n0,1\n1,2,3\n2,4\n")
    with pytest.raises(ValueError, match=rf"trace {path}, line 3: 3 fields where the header has 2"):
        read_trace(path)
    path = write(tmp_path, "step,grad_l2\n0,1\n1,abc\n2,4\n")
    with pytest.raises(ValueError, match=r"line 3: grad_l2 'abc' is not a number"):
        read_trace(path)
    path = write(tmp_path, "step,grad_l2\n0,1\n1.5,2\n")
    with pytest.raises(ValueError, match=r"line 3: step '1.5' is not an integer"):
        read_trace(path)
    path = write(tmp_path, "step,grad_l2,grad_l1,lr,loss\n0,1,2,0.1,3\n1,1,2,0.1,3.0e\n2,1,2,0.1,3\n")
    with pytest.raises(ValueError, match=r"line 3: loss '3.0e' is not a number"):
        read_trace(path)


def test_partial_last_line_of_a_crashed_run_is_dropped_with_a_warning(tmp_path):
    for tail in ["2,5.", "2,5,6,0.1,1.2e"]:  # cut in the second field; cut in the last field
        path = write(tmp_path, "step,grad_l2,grad_l1,lr,loss\n0,1,2,0.1,\n1,3,4,0.1,\n" + tail)
        with pytest.warns(RefinementWarning, match=rf"trace {path}: dropped 1 line\(s\) cut short .*line\(s\) 4\)"):
            trace = read_trace(path)
        np.testing.assert_array_equal(trace.step, [0, 1])


def test_cut_line_followed_by_a_resumed_run_is_dropped_with_a_warning(tmp_path):
    # The recorder ends a cut line with a newline before appending the resumed run's rows after it.
    path = write(tmp_path, "step,grad_l2,grad_l1,lr,loss\n0,1,2,0.1,\n1,3,4,0.1,\n2,5.\n2,5,6,0.1,\n3,7,8,0.1,\n")
    with pytest.warns(RefinementWarning, match=r"dropped 1 line\(s\) cut short .*\(line\(s\) 4\)"):
        trace = read_trace(path)
    np.testing.assert_array_equal(trace.step, [0, 1, 2, 3])
    np.testing.assert_array_equal(trace.grad_l2, [1, 3, 5, 7])


def test_a_file_of_cut_lines_only_is_an_error(tmp_path):
    path = write(tmp_path, "step,grad_l2,grad_l1,lr,loss\n0,1\n")
    with pytest.warns(RefinementWarning, match="cut short"), pytest.raises(ValueError, match="no rows after the"):
        read_trace(path)


def test_last_line_without_newline_that_parses_is_kept(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = read_trace(write(tmp_path, "step,grad_l2\n0,1\n1,2"))
    np.testing.assert_array_equal(trace.grad_l2, [1, 2])


def test_repeated_steps_keep_the_last_record_sorted(tmp_path):
    text = "step,grad_l2\n0,1\n1,2\n2,3\n1,20\n2,30\n3,40\n"
    with pytest.warns(RefinementWarning, match="2 row"):
        trace = read_trace(write(tmp_path, text))
    np.testing.assert_array_equal(trace.step, [0, 1, 2, 3])
    np.testing.assert_array_equal(trace.grad_l2, [1, 20, 30, 40])


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_trace(tmp_path / "nope.csv")


def test_gaps_and_repeats_are_reported(tmp_path):
    path = tmp_path / "t.csv"
    steps = [*range(0, 50), *range(150, 200), 199, 260]
    path.write_text("step,grad_l2\n" + "".join(f"{s},{1 + s}\n" for s in steps))
    with pytest.warns(RefinementWarning, match="1 row"):
        trace = read_trace(path)
    assert trace.gaps == ((50, 149), (200, 259))
    assert trace.repeated_steps == 1
    with pytest.warns(RefinementWarning, match=r"interpolated 160 missing step\(s\): steps 50-149, 200-259"):
        filled = trace.with_gaps_filled()
    assert list(filled.step) == list(range(261)) and filled.gaps == ()
    np.testing.assert_allclose(filled.grad_l2, 1 + np.arange(261.0))  # linear norms: interpolation is exact
    assert np.isnan(filled.grad_l1).all()  # a column the file does not have stays missing
    assert read_trace_without_gaps(tmp_path).with_gaps_filled() is not None


def read_trace_without_gaps(tmp_path):
    path = tmp_path / "whole.csv"
    path.write_text("step,grad_l2\n" + "".join(f"{s},1\n" for s in range(5)))
    trace = read_trace(path)
    assert trace.gaps == () and trace.with_gaps_filled() is trace
    return trace


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("step,grad_l2\n0,1\n".encode("utf-16"), "UTF-16 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
        (b"step,grad_l2\n0,1\x00\n", "binary file"),
    ],
)
def test_files_that_are_not_utf8_text_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"trace {path}: .*({message})"):
        read_trace(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfstep,grad_l2\r\n0,2\r\n1,3\r\n")
    trace = read_trace(path)
    assert list(trace.step) == [0, 1] and list(trace.grad_l2) == [2.0, 3.0]
