"""Run configs: loading, validation, `--set` overrides, the ga_blocks search space and fitness subsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridprune.config import ConfigError, Override, parse_config
from gridprune.methods.ga_blocks import GaSettings, search_space, subset_indices
from gridprune.errors import GridpruneError
from gridprune.run_setup import read_setup
from gridprune.runs import prepare_run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo.yaml"
DEMO_TEXT = DEMO.read_text()


def write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def config_error(path: Path, overrides=()) -> str:
    with pytest.raises(ConfigError) as caught:
        read_setup(path, overrides)
    return str(caught.value)


def test_demo_config_loads_and_validates():
    setup = read_setup(DEMO)
    config, settings = setup.config, setup.settings
    assert config.method == "ga_blocks"
    assert config.model == "demo"  # not taken for a path
    assert Path(config.data.path).is_absolute() and config.data.path.endswith("wav_files_example/search80.hrl")
    assert config.backend == "local"
    assert config.local.workers == 2
    assert settings.fitness.subset is None
    assert (settings.population, settings.generations, settings.pressure) == (24, 15, 3.0)
    assert (settings.granularity, settings.pruned_blocks, settings.layers) == (32, 8, "all")


def test_overrides_take_effect():
    setup = read_setup(DEMO, ["ga.population=30", "local.workers=1", "ga.fitness.subset=5", "ga.layers=[0, 2]"])
    settings = setup.settings
    assert setup.config.local.workers == 1
    assert settings.fitness.subset == 5
    assert settings.population == 30
    assert settings.layers == [0, 2]
    assert settings.generations == 15  # the rest stays as in the file


def test_overrides_do_not_change_the_file():
    read_setup(DEMO, ["ga.population=30"])
    assert DEMO.read_text() == DEMO_TEXT


@pytest.mark.parametrize("extra, overrides, key", [
    ("colour: red\n", [], "colour"),
    ("", ["ga.populaton=30"], "ga.populaton"),
    ("", ['ga.population="many"'], "ga.population"),
    ("", ["ga.pressure=fast"], "ga.pressure"),
    ("", ["local.workers=-1"], "local.workers"),
    ("", ["local.workers=0"], "local.workers"),
    ("", ["local.nodes=3"], "local.nodes"),
    ("", ["ga.fitness.subset=0"], "ga.fitness.subset"),
    ("", ["seed=1.5"], "seed"),
    ("", ["seed=-1"], "seed"),
    ("", ["backend=cloud"], "backend"),
])
def test_bad_keys_and_values_are_named_where_they_were_set(tmp_path, extra, overrides, key):
    path = write(tmp_path, DEMO_TEXT + extra)
    message = config_error(path, overrides)
    if overrides:  # the command line is at fault, not the file
        assert message.startswith(f"--set {key}:") and str(path) not in message
    else:
        assert message.startswith(f"{path}: {key}:")


@pytest.mark.parametrize("overrides, origin, suggestion", [
    (["ga.populaton=6"], "--set ga.populaton", "ga.population"),
    (["local.workrs=3"], "--set local.workrs", "local.workers"),
    (["slurm.chunksize=3"], "--set slurm.chunksize", "slurm.chunk_size"),
    (["sed=3"], "--set sed", "seed"),
    (["ga={populaton: 3}"], "--set ga: ga.populaton", "ga.population"),
])
def test_an_unknown_key_gets_the_closest_valid_one_suggested(overrides, origin, suggestion):
    assert config_error(DEMO, overrides) == f"{origin}: unknown key; did you mean {suggestion}?"


def test_an_unknown_key_far_from_every_valid_one_gets_no_suggestion():
    assert config_error(DEMO, ["zzzzz=1"]) == "--set zzzzz: unknown key"


def test_an_unknown_key_in_the_file_is_named_with_the_file_and_a_suggestion(tmp_path):
    path = write(tmp_path, DEMO_TEXT.replace("  population: 24", "  populaton: 24"))
    assert config_error(path) == f"{path}: ga.populaton: unknown key; did you mean ga.population?"


def test_options_are_named_as_the_user_wrote_them():
    message = config_error(DEMO, [Override("local.workers", 0, "--workers 0")])
    assert message.startswith("--workers 0:") and "greater than 0" in message


@pytest.mark.parametrize("field, value", [("population", '"many"'), ("pressure", "fast")])
def test_mistyped_values_in_the_file_are_named(tmp_path, field, value):
    text = "\n".join(f"  {field}: {value}" if line.startswith(f"  {field}:") else line
                     for line in DEMO_TEXT.splitlines())
    path = write(tmp_path, text)
    message = config_error(path)
    assert str(path) in message
    assert f"ga.{field}:" in message


def test_unknown_method(tmp_path):
    path = write(tmp_path, DEMO_TEXT.replace("method: ga_blocks", "method: magic"))
    message = config_error(path)
    assert str(path) in message
    assert "method:" in message and "magic" in message and "ga_blocks" in message


def test_missing_method(tmp_path):
    path = write(tmp_path, "model: demo\ndata: x.hrl\n")
    message = config_error(path)
    assert str(path) in message and "method:" in message


def test_section_of_another_method_through_parse_config():
    """The check itself, with a second, made-up method."""
    from types import SimpleNamespace

    raw = {"method": "ga_blocks", "model": "demo", "data": "x.hrl", "ga": {}, "other": {"x": 1}}
    methods = {"ga_blocks": SimpleNamespace(section="ga", datasets=()),
               "other_method": SimpleNamespace(section="other", datasets=())}
    with pytest.raises(ConfigError, match=r"^cfg\.yaml: other: this section belongs to other_method, not to ga_blocks"):
        parse_config(raw, "cfg.yaml", methods)


def test_bad_yaml_names_the_file(tmp_path):
    path = write(tmp_path, DEMO_TEXT + "layers: [0, 1\n")
    message = config_error(path)
    assert str(path) in message and "not valid YAML" in message


def test_a_config_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "- method\n- ga_blocks\n")
    for overrides in ([], ["ga.population=30"]):
        message = config_error(path, overrides)
        assert str(path) in message and "mapping" in message


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    message = config_error(path)
    assert str(path) in message and "no such config file" in message


@pytest.mark.parametrize("override, start", [
    ("ga.population", "--set ga.population: expected KEY=VALUE"),   # no `=`
    ("=30", "--set =30: expected KEY=VALUE"),                        # no key
    ("ga.layers=[0, 2", "--set ga.layers: the value '[0, 2' is not valid YAML"),
    ("ga.population.x=3", "--set ga.population.x: ga.population is not a section"),
])
def test_bad_override_is_named_as_given(override, start):
    assert config_error(DEMO, [override]).startswith(start)


def test_empty_file_is_reported_not_crashed(tmp_path):
    path = write(tmp_path, "")
    message = config_error(path)
    assert str(path) in message and "method:" in message


# --- ga_blocks search space ---

def ga(**fields) -> GaSettings:
    return GaSettings.model_validate({"granularity": 8, "pruned_blocks": 2, **fields})


def test_search_space_of_all_layers():
    space = search_space(ga(), 4)
    assert space.layers == (0, 1, 2, 3)
    assert space.granularity == 8
    assert space.pruned_blocks == (2, 2, 2, 2)


def test_search_space_of_some_layers_with_per_layer_counts():
    space = search_space(ga(layers=[1, 3], pruned_blocks=[1, 7]), 4)
    assert (space.layers, space.pruned_blocks) == ((1, 3), (1, 7))


@pytest.mark.parametrize("layers", [[0, 4], [-1], [], [1, 1]])
def test_search_space_rejects_bad_layers(layers):
    with pytest.raises(ConfigError, match=r"^ga\.layers:"):
        search_space(ga(layers=layers), 4)


@pytest.mark.parametrize("layers, pruned_blocks", [
    ("all", [2, 2, 2]),      # 3 numbers for 4 layers
    ([0, 1], [2]),           # 1 number for 2 layers
    ([0, 1], [2, 2, 2]),     # 3 numbers for 2 layers
    ("all", 8),              # not below granularity
    ("all", 0),              # nothing pruned
    ([0, 1], [2, 9]),        # one out of range
    ([0, 1], [-1, 2]),
])
def test_search_space_rejects_bad_pruned_blocks(layers, pruned_blocks):
    with pytest.raises(ConfigError, match=r"^ga\.pruned_blocks:"):
        search_space(ga(layers=layers, pruned_blocks=pruned_blocks), 4)


# --- fitness subsets ---

@pytest.mark.parametrize("subset", [None, 10, 11, 1000])
def test_subset_of_everything_is_none(subset):
    assert subset_indices(10, subset, seed=0, generation=3) is None


def test_subset_is_reproducible_per_generation():
    assert subset_indices(100, 7, seed=5, generation=2) == subset_indices(100, 7, seed=5, generation=2)


def test_subset_differs_across_generations_and_seeds():
    by_generation = {tuple(subset_indices(1000, 10, seed=0, generation=g)) for g in range(5)}
    assert len(by_generation) == 5
    assert subset_indices(1000, 10, seed=0, generation=0) != subset_indices(1000, 10, seed=1, generation=0)


@pytest.mark.parametrize("total, subset", [(10, 1), (10, 9), (100, 30), (5000, 50)])
def test_subset_is_sorted_distinct_and_in_range(total, subset):
    for generation in range(3):
        indices = subset_indices(total, subset, seed=11, generation=generation)
        assert len(indices) == subset
        assert indices == sorted(set(indices))
        assert all(isinstance(i, int) and 0 <= i < total for i in indices)


# --- checks against the model's config.json, before anything is written ---

@pytest.mark.parametrize("overrides, start", [
    (["ga.pruned_blocks=40"], "--set ga.pruned_blocks: 40: each must be in [1, 32)"),
    (["ga.granularity=30"], "--set ga.granularity: 30 does not divide the model's FFN width 1024 into equal blocks "
                            "(nearest that do: 16, 32)"),
    (["ga.layers=[0, 9]"], "--set ga.layers: [0, 9] must be distinct encoder layers in [0, 4) (the model has 4)"),
    (["ga.pruned_blocks=[2, 2]"], "--set ga.pruned_blocks: 2 numbers given for 4 pruned layers"),
])
def test_settings_are_checked_against_the_models_config_json(overrides, start):
    with pytest.raises(ConfigError) as caught:
        prepare_run(DEMO, overrides)
    assert str(caught.value).startswith(start)


def test_a_model_dependent_error_in_the_file_names_the_file(tmp_path):
    path = write(tmp_path, DEMO_TEXT.replace("  pruned_blocks: 8", "  pruned_blocks: 40"), name="mine.yaml")
    with pytest.raises(ConfigError) as caught:
        prepare_run(path)
    assert str(caught.value).startswith(f"{path}: ga.pruned_blocks: 40:")


def test_a_missing_model_or_dataset_is_named_before_the_run(tmp_path):
    with pytest.raises(GridpruneError, match=f"^{tmp_path / 'nowhere'}: no such checkpoint folder"):
        prepare_run(DEMO, [f"model={tmp_path / 'nowhere'}"])
    with pytest.raises(GridpruneError, match=f"^{tmp_path / 'none.hrl'}: no such dataset file"):
        prepare_run(DEMO, [f"data={tmp_path / 'none.hrl'}"])
    with pytest.raises(GridpruneError, match=f"^{tmp_path / 'held.hrl'}: no such dataset file"):
        prepare_run(DEMO, [f"heldout={tmp_path / 'held.hrl'}"])


def test_a_checked_config_gives_the_run_json_to_write():
    setup, info = prepare_run(DEMO, ["ga.population=6"])
    assert info["config"] == setup.config.model_dump(mode="json")
    assert info["config_file"] == str(DEMO) and info["versions"]["torch"]
    assert len(info["model_fingerprint"]) == len(info["dataset_fingerprint"]) == 64


# ---------------------------------------------------------------- resources of task kinds

@pytest.mark.parametrize("override, key", [
    ("resources.ffn_eval.cpus=0", "resources.ffn_eval.cpus"),
    ("resources.ffn_eval.mem_gb=-1", "resources.ffn_eval.mem_gb"),
    ("resources.ffn_eval.gpus=-1", "resources.ffn_eval.gpus"),
    ("resources.ffn_eval.cores=2", "resources.ffn_eval.cores"),
])
def test_bad_resources_are_named_where_they_were_set(override, key):
    assert config_error(DEMO, [override]).startswith(f"--set {key}:")


def test_a_resource_of_a_kind_the_method_has_not_is_refused_before_anything_is_written():
    with pytest.raises(ConfigError) as caught:
        prepare_run(DEMO, ["resources.analysis.cpus=2"])
    assert str(caught.value) == ("--set resources.analysis.cpus: ga_blocks has no task kind 'analysis'; "
                                 "its kinds: ffn_eval")


def test_resources_override_the_kind_defaults_and_legacy_slurm_settings_apply_to_every_kind():
    def kind(*overrides):
        return read_setup(DEMO, list(overrides)).kinds()["ffn_eval"].resources

    assert (kind().cpus, kind().mem_gb, kind().time_min, kind().gpus) == (2, 4.0, 60, 0)
    assert kind("slurm.cpus_per_task=3", "slurm.time_min=9").cpus == 3 and kind("slurm.time_min=9").time_min == 9
    given = kind("slurm.cpus_per_task=3", "resources.ffn_eval.cpus=5", "resources.ffn_eval.gpus=1")
    assert (given.cpus, given.mem_gb, given.gpus) == (5, 4.0, 1)
