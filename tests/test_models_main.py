"""`python -m rlx.models` (rlx/models/__main__.py): the model summary command."""

from rlx.models.__main__ import main


def test_summary_prints_shapes_and_parameter_count(capsys):
    assert main(["--set", "data.num_segments=3", "--set", "data.input_size=64", "--classes", "7"]) == 0
    out = capsys.readouterr().out
    assert "output     (2, 7)  (B, classes)" in out
    assert "input      (2, 3, 3, 64, 64)" in out
    assert "in the relational branch" in out


def test_flow_stream_uses_2L_channels(capsys):
    assert (
        main(
            [
                "--set",
                "data.modality=flow",
                "--set",
                "data.new_length=10",
                "--set",
                "data.input_size=64",
                "--set",
                "data.num_segments=2",
                "--set",
                "model.arch=tsn",
            ]
        )
        == 0
    )
    assert "input      (2, 2, 20, 64, 64)" in capsys.readouterr().out


def test_bad_override_exits_2_naming_the_key(capsys):
    assert main(["--set", "model.insert_after=conv4_3"]) == 2
    assert "model.insert_after: 'conv4_3' is not one of" in capsys.readouterr().err


def test_summary_names_the_new_blocks_of_the_insertion_variant(capsys):
    args = ["--set", "data.num_segments=2", "--set", "data.input_size=64", "--set", "model.insert_after=conv5_3"]
    assert main(args) == 0
    assert "R-LSTM -> 1x1 conv -> 0 new conv5 block(s) -> spatial average" in capsys.readouterr().out
