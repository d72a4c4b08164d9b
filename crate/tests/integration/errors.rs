//! Bad input gets one clear message, never a panic: weights, tokens, configs, and the CLI.

use std::process::Command;

use crate::common::*;
use burn::tensor::Device;
use toylens::io::safetensors::{OutTensor, read_state_dict, write_tensors};
use toylens::model::{HookedTransformer, HookedTransformerConfig, Tokens};

fn min_cfg() -> HookedTransformerConfig {
    HookedTransformerConfig::from_json_str(&std::fs::read_to_string(fixtures_dir().join("min/config.json")).unwrap())
        .unwrap()
}

#[test]
fn weight_errors_name_the_tensor() {
    let device = Device::flex();
    let cfg = min_cfg();
    let bytes = std::fs::read(fixtures_dir().join("min/weights.safetensors")).unwrap();
    let mut sd = read_state_dict(&bytes).unwrap();
    let w = sd.tensors.remove("blocks.0.attn.W_V").unwrap();
    let e = HookedTransformer::from_state_dict(&cfg, &sd, &device).unwrap_err().to_string();
    assert!(e.contains("missing tensor blocks.0.attn.W_V") && e.contains("[1, 32, 32]"), "{e}");
    sd.tensors.insert("blocks.0.attn.W_V".into(), (vec![32, 32], w.1[..1024].to_vec()));
    let e = HookedTransformer::from_state_dict(&cfg, &sd, &device).unwrap_err().to_string();
    assert!(e.contains("blocks.0.attn.W_V has shape [32, 32], expected [1, 32, 32]"), "{e}");
    let e = read_state_dict(&bytes[..bytes.len() / 2]).unwrap_err().to_string();
    assert!(e.contains("not a readable safetensors"), "{e}");
    // A non-finite weight is refused.
    let mut sd = read_state_dict(&bytes).unwrap();
    sd.tensors.get_mut("unembed.b_U").unwrap().1[3] = f32::NAN;
    let e = HookedTransformer::from_state_dict(&cfg, &sd, &device).unwrap_err().to_string();
    assert!(e.contains("unembed.b_U") && e.contains("non-finite"), "{e}");
}

#[test]
fn token_errors_say_where() {
    let device = Device::flex();
    let model = HookedTransformer::init(&min_cfg(), &device).unwrap();
    let t = Tokens::from_rows(&[vec![3, 250, 200]]).unwrap();
    let e = model.run_with_cache(&t, toylens::model::NameFilter::None).unwrap_err().to_string();
    assert!(e.contains("token 250 at [0, 1] is out of vocabulary (d_vocab = 201)"), "{e}");
    let t = Tokens::from_rows(&[vec![1, 2, 3, 4]]).unwrap();
    assert!(model.run_with_cache(&t, toylens::model::NameFilter::None).unwrap_err().to_string().contains("n_ctx"));
    assert!(Tokens::from_rows(&[vec![1, 2], vec![1]]).is_err());
}

#[test]
fn config_too_big_is_refused() {
    let e = HookedTransformerConfig::from_json_str(
        r#"{"n_layers": 64, "d_model": 8192, "d_head": 128, "n_ctx": 2048, "d_vocab": 50000, "act_fn": "gelu"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("too large"), "{e}");
}

#[test]
fn init_is_tl_default_and_state_dict_round_trips() {
    let device = Device::flex();
    let cfg = HookedTransformerConfig::from_json_str(
        &std::fs::read_to_string(fixtures_dir().join("majority/config.json")).unwrap(),
    )
    .unwrap();
    let m = HookedTransformer::init(&cfg, &device).unwrap();
    let sd = m.state_dict().unwrap();
    let total: usize = sd.iter().map(|t| t.values.len()).sum();
    assert_eq!(total, cfg.n_params());
    for t in &sd {
        let n = t.values.len() as f64;
        let mean = t.values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (t.values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        let leaf = t.name.rsplit('.').next().unwrap();
        if leaf.starts_with("W_") {
            assert!((std - cfg.initializer_range).abs() < 0.15 * cfg.initializer_range, "{}: std {std}", t.name);
        } else if leaf == "w" {
            assert!(t.values.iter().all(|&v| v == 1.0), "{}", t.name);
        } else {
            assert!(t.values.iter().all(|&v| v == 0.0), "{}", t.name);
        }
    }
    // Write, read back, rebuild: identical parameters.
    let outs: Vec<(String, OutTensor)> =
        sd.iter().map(|t| (t.name.clone(), OutTensor::F32 { shape: &t.shape, values: &t.values })).collect();
    let bytes = write_tensors(&outs).unwrap();
    let m2 = HookedTransformer::from_state_dict(&cfg, &read_state_dict(&bytes).unwrap(), &device).unwrap();
    for (a, b) in sd.iter().zip(m2.state_dict().unwrap()) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.values, b.values);
    }
    // Freezing by name.
    let (_, frozen) = m2.freeze(r"\.b_").unwrap();
    assert!(frozen.contains(&"blocks.0.attn.b_Q".to_string()) && frozen.contains(&"unembed.b_U".to_string()));
    assert!(!frozen.iter().any(|n| n.contains("W_")));
}

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_toylens"))
}

#[test]
fn cli_cache_matches_fixture_and_errors_are_one_line() {
    let dir = fixtures_dir().join("sorting");
    let out = std::env::temp_dir().join(format!("toylens-cache-{}.safetensors", std::process::id()));
    let st = cli()
        .args(["cache", "--config"])
        .arg(dir.join("config.json"))
        .arg("--weights")
        .arg(dir.join("weights.safetensors"))
        .arg("--tokens")
        .arg(dir.join("cache.safetensors"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let got = toylens::io::safetensors::read_tensors(&std::fs::read(&out).unwrap()).unwrap();
    let want = toylens::io::safetensors::read_tensors(&std::fs::read(dir.join("cache.safetensors")).unwrap()).unwrap();
    for (k, w) in &want {
        if k == "tokens" {
            continue;
        }
        assert!(max_abs_diff(&got[k].to_f32(), &w.to_f32()) <= 1e-4, "{k}");
    }
    let _ = std::fs::remove_file(&out);

    // Garbled weights: non-zero exit, one line, no backtrace.
    let bad = std::env::temp_dir().join(format!("toylens-bad-{}.safetensors", std::process::id()));
    std::fs::write(&bad, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all").unwrap();
    let st = cli().args(["info"]).arg(&bad).output().unwrap();
    assert!(!st.status.success());
    let err = String::from_utf8_lossy(&st.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not a readable safetensors") && !err.contains("panicked"), "{err}");
    let _ = std::fs::remove_file(&bad);

    // Out-of-vocab tokens through the CLI.
    let st = cli()
        .args(["cache", "--config"])
        .arg(dir.join("config.json"))
        .arg("--weights")
        .arg(dir.join("weights.safetensors"))
        .args(["--tokens", "[[30, 99]]", "--out", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(!st.status.success() && err.contains("token 99") && err.trim().lines().count() == 1, "{err}");
}

#[test]
fn cli_convert_and_info() {
    let dir = fixtures_dir().join("min");
    let out = std::env::temp_dir().join(format!("toylens-conv-{}.safetensors", std::process::id()));
    let st = cli().arg("convert").arg(dir.join("weights.pt")).arg(&out).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let st = cli().arg("info").arg(&out).arg("--config").arg(dir.join("config.json")).output().unwrap();
    let o = String::from_utf8_lossy(&st.stdout);
    assert!(st.status.success() && o.contains("blocks.0.attn.W_Q\t[1, 32, 32]") && o.contains("fits"), "{o}");
    let _ = std::fs::remove_file(&out);
}

/// A diverging run (lr 10) stops with one line and leaves the last good weights: they
/// evaluate to a sane loss, far from where the run went.
#[test]
fn cli_diverging_run_stops_and_keeps_the_last_good_weights() {
    let out = std::env::temp_dir().join(format!("toylens-diverge-{}", std::process::id()));
    let st = cli().args(["train", "cumsum", "--steps", "400", "--set", "lr=10", "--out"]).arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(!st.status.success(), "lr 10 trained to the end: {err}");
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(last.contains("the run diverged") && last.contains("the last good weights are in"), "{err}");
    let ev = cli().args(["eval", "cumsum", "--weights"]).arg(out.join("model.safetensors")).output().unwrap();
    assert!(ev.status.success(), "{}", String::from_utf8_lossy(&ev.stderr));
    let j: serde_json::Value = serde_json::from_slice(&ev.stdout).unwrap();
    let loss = j["loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss < 100.0, "the kept weights give loss {loss}");
    let _ = std::fs::remove_dir_all(&out);
}
