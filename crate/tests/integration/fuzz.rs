//! The parsers of what readers bring (weights, configs, token lists) on random and mutated
//! input: an error or a value, never a panic. A few seconds each in the normal run; for a
//! longer local run: `PROPTEST_CASES=20000 cargo test --release -p toylens --test integration fuzz::`.
//! An input that ever fails goes into tests/bad_inputs/ (see its README).

use crate::common::*;
use proptest::prelude::*;
use toylens::io::read_state_dict_bytes;
use toylens::io::tokens::{from_safetensors, parse_json};
use toylens::model::infer::infer_config;
use toylens::model::{HookedTransformer, HookedTransformerConfig, NameFilter};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n),
        ..ProptestConfig::default()
    }
}

fn fixture_bytes(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name).join(file)).unwrap()
}

/// A mutation of a valid file: a few bytes overwritten, then maybe cut short or extended.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = base.len();
    (
        prop::collection::vec((0..n, any::<u8>()), 1..8),
        prop::option::of(0..n),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(move |(edits, cut, tail)| {
            let mut b = base.clone();
            for (i, v) in edits {
                b[i] = v;
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b.extend(tail);
            b
        })
}

/// What a loaded file goes through in the page: parse, infer a config, build, run.
fn load_and_run(bytes: &[u8]) {
    let Ok(sd) = read_state_dict_bytes(bytes) else { return };
    let Ok(inferred) = infer_config(&sd) else { return };
    let Ok(model) = HookedTransformer::from_state_dict(&inferred.cfg, &sd, &burn::tensor::Device::flex()) else {
        return;
    };
    let t = toylens::model::Tokens::new(1, 2, vec![0, 1]).unwrap();
    let _ = model.run_with_cache(&t, NameFilter::None);
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn weights_from_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_state_dict_bytes(&bytes);
        let mut st = b"\x40\x00\x00\x00\x00\x00\x00\x00".to_vec(); // a safetensors-looking header length
        st.extend(&bytes);
        let _ = read_state_dict_bytes(&st);
        let mut pk = b"PK\x03\x04".to_vec(); // a zip-looking start
        pk.extend(&bytes);
        let _ = read_state_dict_bytes(&pk);
    }

    #[test]
    fn mutated_safetensors(bytes in mutated(fixture_bytes("byo_attn2_ln", "weights.safetensors"))) {
        load_and_run(&bytes);
    }

    #[test]
    fn mutated_pt(bytes in mutated(fixture_bytes("byo_vocab_out", "weights.pt"))) {
        load_and_run(&bytes);
    }

    #[test]
    fn configs_with_random_fields(
        fields in prop::collection::btree_map(
            prop::sample::select(vec![
                "n_layers", "d_model", "d_head", "n_heads", "d_mlp", "d_vocab", "d_vocab_out", "n_ctx", "act_fn",
                "normalization_type", "attn_only", "use_attn_scale", "attn_scale", "eps", "positional_embedding_type",
                "n_key_value_heads", "use_split_qkv_input", "use_attn_in", "seed", "initializer_range",
            ]),
            prop_oneof![
                any::<i64>().prop_map(serde_json::Value::from),
                (0i64..64).prop_map(serde_json::Value::from),
                any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
                any::<bool>().prop_map(serde_json::Value::from),
                "[a-zA-Z_]{0,8}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
                Just(serde_json::json!([1, 2])),
            ],
            0..20,
        )
    ) {
        let m: serde_json::Map<String, serde_json::Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let text = serde_json::Value::Object(m).to_string();
        if let Ok(cfg) = HookedTransformerConfig::from_json_str(&text) {
            // A config that parses is sized within limits: building it must not panic either.
            if cfg.n_params() < 1 << 20 {
                let _ = HookedTransformer::init(&cfg, &burn::tensor::Device::flex());
            }
        }
    }

    #[test]
    fn config_text(text in ".{0,200}") {
        let _ = HookedTransformerConfig::from_json_str(&text);
    }

    #[test]
    fn token_lists(text in r#"[\[\]0-9, \-.e"a-z]{0,80}"#, rows in prop::collection::vec(prop::collection::vec(-5i64..300, 0..6), 0..4)) {
        let _ = parse_json(&text);
        let _ = parse_json(&serde_json::to_string(&rows).unwrap());
        let _ = from_safetensors(text.as_bytes());
        // Parsed tokens run or are refused by the model they are for.
        if let Ok(t) = parse_json(&serde_json::to_string(&rows).unwrap()) {
            let f = load("min", &burn::tensor::Device::flex());
            let _ = f.model.run_with_cache(&t, NameFilter::None);
        }
    }
}
