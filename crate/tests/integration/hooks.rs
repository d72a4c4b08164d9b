//! run_with_hooks: each intervention does what it says, checked on the activations it touches.

use crate::common::*;
use burn::tensor::Device;
use toylens::model::{CachedTensor, HookAction, Intervention, NameFilter};

fn vec_of(c: &CachedTensor) -> Vec<f32> {
    c.to_vec().unwrap()
}

#[test]
fn zero_ablating_one_head_zeroes_exactly_that_head() {
    let device = Device::flex();
    let f = load("ln2_gelu", &device);
    let iv = [Intervention::new("blocks.0.attn.hook_z", HookAction::Zero).heads(vec![2])];
    let (_, clean) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
    let (_, abl) = f.model.run_with_hooks(&f.tokens, &iv, NameFilter::All).unwrap();
    let z0 = vec_of(clean.get("blocks.0.attn.hook_z").unwrap());
    let z1 = vec_of(abl.get("blocks.0.attn.hook_z").unwrap());
    let shape = &clean.get("blocks.0.attn.hook_z").unwrap().shape; // [b, p, h, dh]
    let (h, dh) = (shape[2], shape[3]);
    for (i, (a, b)) in z0.iter().zip(&z1).enumerate() {
        let head = (i / dh) % h;
        if head == 2 { assert_eq!(*b, 0.0) } else { assert_eq!(a, b) }
    }
    // Downstream changes, upstream does not.
    assert_eq!(
        vec_of(clean.get("blocks.0.attn.hook_pattern").unwrap()),
        vec_of(abl.get("blocks.0.attn.hook_pattern").unwrap())
    );
    assert_ne!(
        vec_of(clean.get("blocks.0.hook_attn_out").unwrap()),
        vec_of(abl.get("blocks.0.hook_attn_out").unwrap())
    );
}

#[test]
fn uniform_causal_attention_is_uniform_over_the_visible_prefix() {
    let device = Device::flex();
    let f = load("cumsum", &device);
    let iv = [Intervention::new("blocks.0.attn.hook_pattern", HookAction::UniformCausal)];
    let (_, c) = f.model.run_with_hooks(&f.tokens, &iv, NameFilter::regex("hook_pattern").unwrap()).unwrap();
    let p = c.get("blocks.0.attn.hook_pattern").unwrap();
    let [b, h, q, k] = [p.shape[0], p.shape[1], p.shape[2], p.shape[3]];
    let v = vec_of(p);
    for bi in 0..b {
        for hi in 0..h {
            for qi in 0..q {
                for ki in 0..k {
                    let x = v[((bi * h + hi) * q + qi) * k + ki];
                    let want = if ki <= qi { 1.0 / (qi + 1) as f32 } else { 0.0 };
                    assert!((x - want).abs() < 1e-7);
                }
            }
        }
    }
}

#[test]
fn patching_the_final_residual_gives_the_other_runs_logits() {
    let device = Device::flex();
    let f = load("ln2_gelu", &device);
    // A corrupted run: the same batch with the token order reversed in each row.
    let mut ids = f.tokens.ids.clone();
    for row in ids.chunks_mut(f.tokens.pos) {
        row.reverse();
    }
    let corrupt = toylens::model::Tokens::new(f.tokens.batch, f.tokens.pos, ids).unwrap();
    let (clean_logits, clean) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
    let donor = clean.get("blocks.1.hook_resid_post").unwrap().clone();
    let iv = [Intervention::new("blocks.1.hook_resid_post", HookAction::Patch(donor))];
    let (patched, _) = f.model.run_with_hooks(&corrupt, &iv, NameFilter::None).unwrap();
    let a = clean_logits.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let b = patched.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    assert!(max_abs_diff(&a, &b) < 1e-6);
}

#[test]
fn mean_ablation_sets_the_mean_and_scale_one_is_identity() {
    let device = Device::flex();
    let f = load("cumsum", &device);
    let (logits, clean) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
    let post = clean.get("blocks.0.mlp.hook_post").unwrap();
    let mean = CachedTensor::from_tensor(post.tensor::<3>().unwrap().mean_dim(0).squeeze_dim::<2>(0));
    let iv = [Intervention::new("blocks.0.mlp.hook_post", HookAction::Mean(mean.clone()))
        .neurons(vec![1, 3])
        .positions(vec![0, 5])];
    let (_, abl) = f.model.run_with_hooks(&f.tokens, &iv, NameFilter::All).unwrap();
    let got = vec_of(abl.get("blocks.0.mlp.hook_post").unwrap());
    let orig = vec_of(post);
    let m = vec_of(&mean);
    let [b, p, n] = [post.shape[0], post.shape[1], post.shape[2]];
    for bi in 0..b {
        for pi in 0..p {
            for ni in 0..n {
                let i = (bi * p + pi) * n + ni;
                let hit = [1, 3].contains(&ni) && [0, 5].contains(&pi);
                let want = if hit { m[pi * n + ni] } else { orig[i] };
                assert_eq!(got[i], want, "[{bi},{pi},{ni}]");
            }
        }
    }
    let iv = [Intervention::new("blocks.0.hook_resid_mid", HookAction::Scale(1.0))];
    let (same, _) = f.model.run_with_hooks(&f.tokens, &iv, NameFilter::None).unwrap();
    assert_eq!(
        logits.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(),
        same.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    );
}

#[test]
fn bad_interventions_are_clear_errors() {
    let device = Device::flex();
    let f = load("min", &device);
    let e = f
        .model
        .run_with_hooks(&f.tokens, &[Intervention::new("blocks.0.attn.hook_nope", HookAction::Zero)], NameFilter::None)
        .unwrap_err();
    assert!(e.to_string().contains("hook_nope"), "{e}");
    let e = f
        .model
        .run_with_hooks(
            &f.tokens,
            &[Intervention::new("blocks.0.attn.hook_z", HookAction::Zero).heads(vec![7])],
            NameFilter::None,
        )
        .unwrap_err();
    assert!(e.to_string().contains("head 7"), "{e}");
}

#[test]
fn run_until_stops_at_its_hook_with_the_full_runs_values() {
    let device = Device::flex();
    for name in fixture_names() {
        let f = load(&name, &device);
        let (_, full) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
        let names = f.model.hook_names();
        let last = format!("blocks.{}.attn.hook_pattern", f.model.cfg.n_layers - 1);
        let cut = names.iter().position(|n| *n == last).unwrap();
        let early = f.model.run_until(&f.tokens, NameFilter::All, &last).unwrap();
        for (i, n) in names.iter().enumerate() {
            match early.get(n) {
                // The same computation as the full forward, so bit for bit the same.
                Some(c) => assert_eq!(vec_of(c), vec_of(full.get(n).unwrap()), "{name}: {n}"),
                None => assert!(i > cut, "{name}: {n} is before {last} but missing"),
            }
            if i > cut {
                assert!(early.get(n).is_none(), "{name}: {n} comes after {last}, yet was computed");
            }
        }
    }
    let f = load("ln2_gelu", &device);
    let err = f.model.run_until(&f.tokens, NameFilter::All, "blocks.9.attn.hook_pattern").unwrap_err();
    assert!(err.to_string().contains("no hook named"), "{err}");
}
