//! Checkpoints from elsewhere: `.pt` bytes read as safetensors are, configs inferred from the
//! tensors alone, TL's attention buffers honoured, and the bad-checkpoint corpus
//! (tests/bad_inputs/) refused with a message each — in the library and in the CLI.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use serde_json::Value;
use toylens::io::{read_state_dict_bytes, read_state_dict_file};
use toylens::model::infer::infer_config;

fn index() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("index.json")).unwrap()).unwrap()
}

fn bad_inputs_dir() -> PathBuf {
    fixtures_dir().parent().unwrap().join("bad_inputs")
}

/// Every fixture saved with torch.save reads (from its bytes) to exactly its safetensors
/// tensors, buffers included: the parity of the safetensors fixtures carries over.
#[test]
fn pt_state_dicts_equal_safetensors() {
    let mut n = 0;
    for f in index()["fixtures"].as_array().unwrap().iter().filter(|f| f["has_weights_pt"] == true) {
        let name = f["name"].as_str().unwrap();
        let dir = fixtures_dir().join(name);
        let a = read_state_dict_bytes(&std::fs::read(dir.join("weights.pt")).unwrap()).unwrap();
        let b = read_state_dict_file(&dir.join("weights.safetensors")).unwrap();
        assert_eq!(a.tensors.keys().collect::<Vec<_>>(), b.tensors.keys().collect::<Vec<_>>(), "{name}");
        for (k, (s, v)) in &a.tensors {
            assert_eq!(s, &b.tensors[k].0, "{name}: {k}");
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.tensors[k].1.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{name}: {k}"
            );
        }
        n += 1;
    }
    assert!(n >= 5, "expected min, ln2_gelu and three byo_ fixtures with weights.pt, found {n}");
}

/// The inferred config equals the fixture's own on every field, except fields it flags as
/// assumed (what shapes cannot tell); and it flags only such fields.
#[test]
fn inferred_configs_recover_every_fixture() {
    const FIELDS: [&str; 17] = [
        "n_layers",
        "d_model",
        "n_heads",
        "d_head",
        "d_mlp",
        "d_vocab",
        "d_vocab_out",
        "n_ctx",
        "attn_only",
        "act_fn",
        "normalization_type",
        "use_attn_scale",
        "eps",
        "use_attn_result",
        "use_split_qkv_input",
        "use_hook_tokens",
        "positional_embedding_type",
    ];
    for name in fixture_names() {
        let dir = fixtures_dir().join(&name);
        let want: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        let sd = read_state_dict_file(&dir.join("weights.safetensors")).unwrap();
        let got = infer_config(&sd).unwrap_or_else(|e| panic!("{name}: {e}"));
        let assumed: Vec<&str> = got.assumed.iter().map(|a| a.field).collect();
        for k in FIELDS {
            if got.config[k] != want[k] {
                assert!(
                    assumed.contains(&k),
                    "{name}: {k} inferred {} but is {}, and not flagged",
                    got.config[k],
                    want[k]
                );
            }
        }
        let unknowable = ["act_fn", "normalization_type", "use_attn_scale", "eps", "positional_embedding_type"];
        for a in &assumed {
            assert!(unknowable.contains(a) || a.starts_with("use_"), "{name}: {a} is flagged but the shapes fix it");
        }
        // A fixture listing what its weights cannot tell: we flag each of those we read.
        for k in f_list(&name) {
            if FIELDS.contains(&k.as_str()) && got.config[&k] != want[&k] {
                assert!(assumed.contains(&k.as_str()), "{name}: {k}");
            }
        }
    }
}

fn f_list(name: &str) -> Vec<String> {
    let idx = index();
    let f = idx["fixtures"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned().unwrap();
    f["not_inferable_from_weights"]
        .as_array()
        .map_or(vec![], |a| a.iter().map(|v| v.as_str().unwrap().into()).collect())
}

/// An older TL checkpoint's IGNORE (−1e5) shows in hook_attn_scores as TL shows it (the
/// fixture's cache, within 1e-4, is checked for every fixture in parity.rs); here, that the
/// buffer was read and the masked scores are exactly it.
#[test]
fn older_checkpoints_keep_their_ignore_value() {
    let device = burn::tensor::Device::flex();
    let f = load("byo_old_ignore", &device);
    let (_, cache) = f.model.run_with_cache(&f.tokens, toylens::model::NameFilter::All).unwrap();
    let s = cache.get("blocks.1.attn.hook_attn_scores").unwrap();
    let [.., q, k] = s.shape[..] else { panic!() };
    let v = s.to_vec().unwrap();
    assert_eq!(v[1], -1e5, "query 0, key 1 is masked");
    assert!(v[(q - 1) * k + k - 1].is_finite(), "the diagonal is not masked");
    // The same weights with a non-causal mask are refused, not run wrongly.
    let mut sd = read_state_dict_file(&fixtures_dir().join("byo_old_ignore/weights.safetensors")).unwrap();
    sd.tensors.get_mut("blocks.0.attn.mask").unwrap().1[1] = 1.0;
    let e = toylens::model::HookedTransformer::from_state_dict(&f.cfg, &sd, &device).unwrap_err().to_string();
    assert!(e.contains("blocks.0.attn.mask is not a causal mask"), "{e}");
}

/// The `toylens` arguments that hand a corpus row's file to the parser of its kind: weights
/// alone (`info`), or checked against a fixture's config; a config against that fixture's
/// weights; tokens run through the fixture's model (`cache`).
fn corpus_args(row: &Value, file: &Path, out: &Path) -> Vec<OsString> {
    let fixture = |f: &str| fixtures_dir().join(row["against"].as_str().unwrap_or("min")).join(f).into_os_string();
    let file = file.as_os_str().to_owned();
    match row["kind"].as_str().unwrap() {
        "pt" | "safetensors" if row["against"].is_null() => vec!["info".into(), file],
        "pt" | "safetensors" => vec!["info".into(), file, "--config".into(), fixture("config.json")],
        "config" => vec!["info".into(), fixture("weights.safetensors"), "--config".into(), file],
        "tokens" => vec![
            "cache".into(),
            "--config".into(),
            fixture("config.json"),
            "--weights".into(),
            fixture("weights.safetensors"),
            "--tokens".into(),
            file,
            "--out".into(),
            out.as_os_str().to_owned(),
        ],
        other => panic!("manifest kind {other:?}: add its command here"),
    }
}

/// Each file of the corpus (tests/bad_inputs/manifest.json): good ones load; bad ones give
/// their message in the CLI (one line, non-zero exit, nothing written) and, for weights read
/// alone, in the library; a pickle naming any global but torch's tensor rebuilders is refused
/// before anything runs.
#[test]
fn bad_input_corpus_is_refused_with_a_message() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(bad_inputs_dir().join("manifest.json")).unwrap()).unwrap();
    let bin = env!("CARGO_BIN_EXE_toylens");
    let out_file = std::env::temp_dir().join(format!("toylens-corpus-{}.safetensors", std::process::id()));
    let mut refused = std::collections::BTreeMap::<&str, usize>::new();
    for row in manifest.as_array().unwrap() {
        let file = bad_inputs_dir().join(row["file"].as_str().unwrap());
        let out = Command::new(bin).args(corpus_args(row, &file, &out_file)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let weights_alone = matches!(row["kind"].as_str(), Some("pt" | "safetensors")) && row["against"].is_null();
        let got = weights_alone.then(|| read_state_dict_bytes(&std::fs::read(&file).unwrap()));
        if row["good"] == true {
            assert!(out.status.success(), "{}: {stderr}", file.display());
            if let Some(Err(e)) = got {
                panic!("{}: {e}", file.display());
            }
            continue;
        }
        let want = row["expect"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no expected message; the CLI says: {stderr}", file.display()));
        if let Some(got) = got {
            let msg = got.map(|sd| format!("loaded {} tensors", sd.tensors.len())).unwrap_or_else(|e| e.to_string());
            assert!(msg.to_lowercase().contains(want), "{}: {msg:?} lacks {want:?}", file.display());
        }
        assert!(!out.status.success(), "{}: the CLI accepted it", file.display());
        assert_eq!(stderr.trim().lines().count(), 1, "{}: {stderr}", file.display());
        assert!(stderr.to_lowercase().contains(want), "{}: {stderr:?} lacks {want:?}", file.display());
        assert!(!out_file.exists(), "{}: the CLI wrote its output anyway", file.display());
        *refused.entry(row["kind"].as_str().unwrap()).or_default() += 1;
    }
    eprintln!("bad inputs refused: {refused:?}");
    for (kind, at_least) in [("pt", 8), ("safetensors", 10), ("config", 8), ("tokens", 8)] {
        assert!(refused.get(kind).copied().unwrap_or(0) >= at_least, "{kind}: {refused:?}");
    }
}

/// The CLI on a checkpoint with no task and no config: `config` prints the inferred TL JSON,
/// and `analyze` runs a generic analysis on given tokens, equal to TL's cache.
#[test]
fn cli_analyzes_a_checkpoint_without_task_or_config() {
    let bin = env!("CARGO_BIN_EXE_toylens");
    let dir = fixtures_dir().join("byo_attn2_ln");
    let pt = dir.join("weights.pt");
    let out = Command::new(bin).arg("config").arg(&pt).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    for k in ["n_layers", "d_model", "n_heads", "d_head", "d_vocab", "n_ctx", "attn_only", "normalization_type"] {
        assert_eq!(cfg[k], want[k], "{k}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("assumed use_attn_result = false"));

    let f = load("byo_attn2_ln", &burn::tensor::Device::flex());
    let rows: Vec<Vec<i64>> = f.tokens.ids.chunks(f.tokens.pos).map(|r| r.to_vec()).collect();
    let out = Command::new(bin)
        .args(["analyze", "--weights"])
        .arg(&pt)
        .args(["--what", "attention_pattern", "--layer", "1", "--tokens", &serde_json::to_string(&rows).unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["task"], Value::Null);
    let got: Vec<f32> = j["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let d = max_abs_diff(&got, &f.expected["blocks.1.attn.hook_pattern"].to_f32());
    assert!(d <= 1e-4, "pattern differs by {d}");
    // Tokens are required without a task; a bad one is named.
    let out = Command::new(bin).args(["analyze", "--weights"]).arg(&pt).args(["--what", "probs"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("give them"));
}

/// A run saved by the page (a training state: weights and Adam's moments) is a `--weights` file
/// for the CLI too, read as the page's engine reads it: the model part, nothing else.
#[test]
fn the_cli_reads_a_training_state_as_the_page_does() {
    let device = burn::tensor::Device::flex();
    let task = toylens::tasks::by_id("sorting").unwrap();
    let mut recipe = task.recipe();
    recipe.batch_size = 4;
    let mut tr =
        toylens::train::Trainer::new(task, toylens::tasks::by_id("sorting").unwrap().config(), recipe, &device)
            .unwrap();
    tr.step().unwrap();
    let bytes = toylens::train::block_on(tr.save_state()).unwrap();
    let file = std::env::temp_dir().join(format!("toylens-state-{}.safetensors", std::process::id()));
    std::fs::write(&file, &bytes).unwrap();
    let read = toylens::cli::common::read_weights(&file).unwrap();
    std::fs::remove_file(&file).ok();
    let want = tr.inference_model().state_dict().unwrap();
    let names: Vec<_> = read.tensors.keys().cloned().collect();
    let mut expected: Vec<_> = want.iter().map(|t| t.name.clone()).collect();
    expected.sort();
    assert_eq!(names, expected, "the model's tensors, without the optimizer's");
    for t in &want {
        assert_eq!(read.tensors[&t.name].1, t.values, "{}", t.name);
    }
    // A plain state dict still reads as one, and the page's reader agrees with the CLI's.
    assert_eq!(toylens::train::state::weights_of(&bytes).unwrap().tensors.len(), read.tensors.len());
}
