//! Parity of the analysis library with TransformerLens: every analysis on the five notebook
//! fixtures against `<name>/analysis.safetensors`, written by
//! tests/fixtures/make_analysis_fixtures.py with TL 3.9's own functions (or the notebooks' own
//! cells where TL has none). Values within 1e-4 absolute; singular vectors up to sign;
//! eigenvalues as a set.

use std::collections::BTreeMap;

use crate::common::*;
use burn::tensor::{Device, Tensor};
use serde_json::Value;
use toylens::analysis::CachedRun;
use toylens::analysis::ablation::{Ablation, Target};
use toylens::analysis::labeled::to_vec;
use toylens::analysis::patching::PatchKind;
use toylens::analysis::stacks::Mode;
use toylens::analysis::{
    LabeledTensor, Positions, addition, attention, circuits, counts, grouping, metrics, ov_diag, spectra, weights,
};
use toylens::io::safetensors::{HostData, HostTensor, read_tensors};
use toylens::model::Tokens;

const TOL: f32 = 1e-4;

struct Checker {
    fixture: String,
    want: BTreeMap<String, HostTensor>,
    meta: Value,
    rows: Vec<(String, f32)>,
    failures: Vec<String>,
    /// The reference keys read so far: finish() fails on one never read (a reference the
    /// fixtures script writes and no test compares checks nothing).
    used: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// What is being compared, put before each reference key in the table and the failures
    /// (the catalog test's row and JSON path).
    context: String,
}

/// A batch of matrices [.., r, c] with its last two axes swapped: (values, shape).
fn transpose_last(v: &[f32], shape: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let nd = shape.len();
    let (r, c) = (shape[nd - 2], shape[nd - 1]);
    let mut out = vec![0f32; v.len()];
    for (m, block) in v.chunks(r * c).enumerate() {
        for i in 0..r {
            for j in 0..c {
                out[m * r * c + j * r + i] = block[i * c + j];
            }
        }
    }
    let mut s = shape.to_vec();
    s.swap(nd - 2, nd - 1);
    (out, s)
}

/// The processed weights of a fixture (TL's defaults, and the cumsum notebook's own
/// processing): weight_processing_matches_transformer_lens compares them.
fn processed(key: &str) -> bool {
    key.starts_with("processed/") || key.starts_with("cumsum_processed/")
}

fn diff(a: &[f32], b: &[f32]) -> f32 {
    // NaN == NaN here: empty groups and unscored positions are NaN on both sides.
    a.iter()
        .zip(b)
        .map(|(x, y)| if x == y || (x.is_nan() && y.is_nan()) { 0.0 } else { (x - y).abs() })
        .fold(0.0f32, |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) })
}

impl Checker {
    fn new(fixture: &str) -> Self {
        let dir = fixtures_dir().join(fixture);
        let bytes = std::fs::read(dir.join("analysis.safetensors"))
            .unwrap_or_else(|e| panic!("{fixture}: run tests/fixtures/make_analysis_fixtures.py ({e})"));
        let meta = serde_json::from_str(&std::fs::read_to_string(dir.join("analysis.json")).unwrap()).unwrap();
        Self {
            fixture: fixture.into(),
            want: read_tensors(&bytes).unwrap(),
            meta,
            rows: vec![],
            failures: vec![],
            used: Default::default(),
            context: String::new(),
        }
    }

    /// Adds TL's cached forward pass (the fixture's cache.safetensors) as `cache/<hook>`.
    fn with_cache(mut self, cache: BTreeMap<String, HostTensor>) -> Self {
        self.want.extend(cache.into_iter().map(|(k, t)| (format!("cache/{k}"), t)));
        self
    }

    fn fail(&mut self, what: String) {
        self.failures.push(format!("{}: {}{what}", self.fixture, self.context));
    }

    fn has(&self, key: &str) -> bool {
        self.want.contains_key(key)
    }

    fn r(&self, key: &str) -> &HostTensor {
        self.used.borrow_mut().insert(key.to_string());
        self.want.get(key).unwrap_or_else(|| panic!("{}: no reference {key}", self.fixture))
    }

    fn f32(&self, key: &str) -> Vec<f32> {
        self.r(key).to_f32()
    }

    fn i64(&self, key: &str) -> Vec<i64> {
        match &self.r(key).data {
            HostData::I64(v) => v.clone(),
            HostData::F32(_) => panic!("{key} is not an integer tensor"),
        }
    }

    fn shape(&self, key: &str) -> Vec<usize> {
        self.r(key).shape.clone()
    }

    fn record(&mut self, key: &str, d: f32, tol: f32) {
        if d.is_nan() || d > tol {
            self.fail(format!("{key} differs by {d:e}"));
        }
        self.rows.push((format!("{}{key}", self.context), d));
    }

    /// Values and shape against the reference `key`.
    fn close(&mut self, key: &str, got: &[f32], shape: &[usize]) {
        let (want, want_shape) = (self.f32(key), self.shape(key));
        self.close_to(key, got, Some(shape), &want, &want_shape);
    }

    /// `got` against `want`, the reference `key` or a value computed from it: shapes when
    /// `shape` is given, else counts (where ours is the reference's flattened or regrouped).
    fn close_to(&mut self, key: &str, got: &[f32], shape: Option<&[usize]>, want: &[f32], want_shape: &[usize]) {
        match shape {
            Some(s) if s != want_shape => return self.fail(format!("{key} has shape {s:?}, TL {want_shape:?}")),
            None if got.len() != want.len() => {
                return self.fail(format!("{key} has {} values, TL {}", got.len(), want.len()));
            }
            _ => {}
        }
        // Integer references (predictions, neuron indices, categories) must match exactly.
        let tol = if matches!(self.r(key).data, HostData::I64(_)) { 0.0 } else { TOL };
        self.record(key, diff(got, want), tol);
    }

    fn tensor<const D: usize>(&mut self, key: &str, t: Tensor<D>) {
        let shape = t.dims().to_vec();
        self.close(key, &to_vec(t).unwrap(), &shape);
    }

    fn labeled(&mut self, key: &str, t: &LabeledTensor) {
        self.close(key, &t.values, &t.shape);
    }

    fn scalars(&mut self, key: &str, got: &[f32]) {
        let want = self.f32(key);
        assert_eq!(got.len(), want.len(), "{key}: count");
        let d = diff(got, &want);
        self.record(key, d, TOL);
    }

    fn labels(&mut self, key: &str, got: &[String]) {
        let want: Vec<String> = serde_json::from_value(self.meta["labels"][key].clone()).unwrap();
        if want != got {
            self.fail(format!("{key} labels {got:?}, TL {want:?}"));
        }
    }

    /// Columns (last axis) of a batch of matrices, up to sign: `got` [.., r, kg], reference
    /// [.., r, kw] with kw ≤ kg. With singular values `s`, a column whose value is shared
    /// (within 1e-3 of the largest) is compared as a subspace: the reference column must lie in
    /// the span of `got`'s columns of that value. Columns of the null space (values under 1e-4
    /// of the largest) are any basis of it, so they are not compared, and the table says how many.
    fn columns_up_to_sign(&mut self, key: &str, got: &LabeledTensor, s: Option<&LabeledTensor>) {
        let (want, ws) = (self.f32(key), self.shape(key));
        self.compare_columns(key, &want, &ws, &got.values, &got.shape, s);
    }

    /// Rows (second-to-last axis) up to sign, as columns_up_to_sign: e.g. `Vh`, whose rows are
    /// the right singular vectors.
    fn rows_up_to_sign(&mut self, key: &str, got: &LabeledTensor, s: Option<&LabeledTensor>) {
        let (want, ws) = transpose_last(&self.f32(key), &self.shape(key));
        let (g, gs) = transpose_last(&got.values, &got.shape);
        self.compare_columns(key, &want, &ws, &g, &gs, s);
    }

    fn compare_columns(
        &mut self,
        key: &str,
        want: &[f32],
        ws: &[usize],
        got: &[f32],
        gs: &[usize],
        s: Option<&LabeledTensor>,
    ) {
        let nd = ws.len();
        let (r, kw) = (ws[nd - 2], ws[nd - 1]);
        let kg = gs[gs.len() - 1];
        let n = want.len() / (r * kw);
        assert_eq!(got.len() / (r * kg), n, "{key}: matrices");
        assert_eq!(gs[gs.len() - 2], r, "{key}: rows");
        let (mut worst, mut null) = (0f32, 0usize);
        for i in 0..n {
            let g = |j: usize| -> Vec<f32> { (0..r).map(|row| got[i * r * kg + row * kg + j]).collect() };
            for j in 0..kw {
                let w: Vec<f32> = (0..r).map(|row| want[i * r * kw + row * kw + j]).collect();
                // The columns of got that share column j's singular value (j alone without `s`).
                let mut same = vec![j];
                if let Some(s) = s {
                    let sk = s.shape[s.shape.len() - 1];
                    let sv = &s.values[i * sk..(i + 1) * sk];
                    if sv[j] < 1e-4 * sv[0] {
                        null += 1;
                        continue;
                    }
                    same = (0..sk.min(kg)).filter(|&q| (sv[q] - sv[j]).abs() < 1e-3 * sv[0]).collect();
                }
                let d = if same.len() == 1 {
                    let gj = g(j);
                    let sign = if gj.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() < 0.0 { -1.0 } else { 1.0 };
                    diff(&gj.iter().map(|x| x * sign).collect::<Vec<_>>(), &w)
                } else {
                    // w minus its projection on got's orthonormal columns of that value.
                    let mut rest = w.clone();
                    for q in same {
                        let gq = g(q);
                        let c: f32 = gq.iter().zip(&w).map(|(a, b)| a * b).sum();
                        rest.iter_mut().zip(&gq).for_each(|(x, y)| *x -= c * y);
                    }
                    rest.iter().fold(0f32, |m, x| m.max(x.abs()))
                };
                worst = worst.max(d);
            }
        }
        let name = if null > 0 {
            format!("{key} (±; {null} null-space columns not compared)")
        } else {
            format!("{key} (±)")
        };
        if null == n * kw {
            self.fail(format!("{key}: every column is in the null space, nothing compared"));
        }
        self.record(&name, worst, TOL);
    }

    /// Eigenvalues [.., m, 2] as a set per matrix: each reference value's nearest unused match.
    fn eigen_set(&mut self, key: &str, got: &LabeledTensor) {
        let want = self.f32(key);
        let m = self.shape(key)[self.shape(key).len() - 2];
        let n = want.len() / (2 * m);
        let mut worst = 0f32;
        for i in 0..n {
            let mut used = vec![false; m];
            for a in 0..m {
                let (wr, wi) = (want[(i * m + a) * 2], want[(i * m + a) * 2 + 1]);
                let (best, d) = (0..m)
                    .filter(|&b| !used[b])
                    .map(|b| (b, (got.values[(i * m + b) * 2] - wr).hypot(got.values[(i * m + b) * 2 + 1] - wi)))
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .unwrap();
                used[best] = true;
                worst = worst.max(d);
            }
        }
        self.record(&format!("{key} (set)"), worst, TOL);
    }

    /// Prints the table and fails on any check that failed, or on a reference key `mine` that
    /// no check read (each test owns its keys: weight processing the processed weights, the
    /// parity test the rest).
    fn finish(self, mine: impl Fn(&str) -> bool) {
        let worst = self.rows.iter().fold(("", 0f32), |w, (k, d)| if *d > w.1 { (k, *d) } else { w });
        println!(
            "ANALYSIS PARITY {}: {} checks, worst {} {:.2e}\n{}",
            self.fixture,
            self.rows.len(),
            worst.0,
            worst.1,
            self.rows.iter().map(|(k, d)| format!("  {k:<34} {d:.2e}")).collect::<Vec<_>>().join("\n")
        );
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        let used = self.used.borrow();
        let unused: Vec<&String> = self.want.keys().filter(|k| mine(k) && !used.contains(*k)).collect();
        assert!(unused.is_empty(), "{}: references never compared: {unused:?}", self.fixture);
    }
}

/// Keeps the first `n` entries of the last axis (the generator stores big neuron axes cut).
fn keep_last<const D: usize>(t: Tensor<D>, n: Option<usize>) -> Tensor<D> {
    match n {
        Some(n) => t.narrow(D - 1, 0, n),
        None => t,
    }
}

fn check_fixture(name: &str) {
    let device = Device::flex();
    let f = load(name, &device);
    let m = &f.model;
    let cfg = &m.cfg;
    let mut c = Checker::new(name);
    let big = c.meta["big"].as_bool().unwrap();
    let kept = c.meta["neurons_kept"].as_u64().map(|n| n as usize);
    let targets = c.i64("targets");
    let filled: Vec<i64> = targets.iter().map(|&t| t.max(0)).collect();
    let (b, p) = (f.tokens.batch, f.tokens.pos);
    let has_mlp = cfg.has_mlp();
    let has_ln = c.has("decompose_resid_ln");
    let last = Positions::Only(vec![p - 1]);
    let all = Positions::All;

    // ---- FactoredMatrix -----------------------------------------------------------------
    let ov = circuits::ov(m, 0).unwrap();
    let qk = circuits::qk(m, 0).unwrap();
    for (key, fm) in [("ov", &ov), ("qk", &qk)] {
        let svd = fm.svd().unwrap();
        c.labeled(&format!("{key}_S"), &svd.s);
        c.columns_up_to_sign(&format!("{key}_U"), &svd.u, Some(&svd.s));
        c.columns_up_to_sign(&format!("{key}_V"), &svd.v, Some(&svd.s));
        c.eigen_set(&format!("{key}_eig"), &fm.eigenvalues().unwrap());
        c.labeled(&format!("{key}_norm"), &fm.norm().unwrap());
        if !big {
            c.tensor(&format!("{key}_BA"), fm.ba().unwrap());
            c.tensor(&format!("{key}_AB"), fm.ab());
        }
    }
    c.labeled("composition_ov_qk", &toylens::analysis::factored::composition_score(&ov, &qk).unwrap());
    let comp = ov.compose(&qk);
    c.labeled("ov_qk_S", &comp.svd().unwrap().s);
    c.labeled("qk_T_S", &qk.t().svd().unwrap().s);
    if !big {
        c.tensor("ov_qk_AB", comp.ab());
        c.tensor("qk_T_AB", qk.t().ab());
    }

    // ---- full circuits --------------------------------------------------------------------
    let full_ov = circuits::full_ov(m, 0).unwrap();
    c.tensor("full_ov", full_ov.clone());
    c.tensor("full_qk", circuits::full_qk(m, 0).unwrap());
    c.tensor("full_ov_pos", circuits::full_ov_pos(m, 0).unwrap());
    c.tensor("full_qk_pos", circuits::full_qk_pos(m, 0).unwrap());
    c.labeled("ov_diag_top1", &ov_diag::ov_diag_top1(full_ov).unwrap().fraction);

    // ---- spectra ----------------------------------------------------------------------------
    let we = spectra::svd_w_e(m, 2).unwrap();
    c.labeled("svd_W_E_S", &we.s);
    c.columns_up_to_sign("svd_W_E_U", &we.u, Some(&we.s));
    c.rows_up_to_sign("svd_W_E_Vh", &we.vh, Some(&we.s));
    c.columns_up_to_sign("svd_W_E_proj", we.projection.as_ref().unwrap(), None);
    let wu = spectra::svd_w_u(m, 2).unwrap();
    c.labeled("svd_W_U_S", &wu.s);
    c.columns_up_to_sign("svd_W_U_U", &wu.u, Some(&wu.s));
    c.rows_up_to_sign("svd_W_U_Vh", &wu.vh, Some(&wu.s));
    c.columns_up_to_sign("svd_W_U_proj", wu.projection.as_ref().unwrap(), None);
    let eov = spectra::svd_embed_ov(m, 0, 2).unwrap();
    c.labeled("svd_E_OV_S", &eov.s);
    c.rows_up_to_sign("svd_E_OV_Vh", &eov.vh, Some(&eov.s));
    c.columns_up_to_sign("svd_E_OV_proj", eov.projection.as_ref().unwrap(), None);
    let ud = spectra::unembed_directions(m, 0, 2).unwrap();
    c.columns_up_to_sign("unembed_dirs_ov", &ud.embed_ov, None);
    c.columns_up_to_sign("unembed_dirs_w_u", &ud.w_u, None);
    if has_mlp {
        c.columns_up_to_sign("unembed_dirs_w_out", ud.w_out.as_ref().unwrap(), None);
        c.tensor("neuron_logits", circuits::neuron_logits(m, 0).unwrap());
        c.tensor("ov_to_neurons", keep_last(circuits::ov_to_neurons(m, 0, 0).unwrap(), kept));
    }
    let (bias, bias_labels) = circuits::bias_logits(m).unwrap();
    assert_eq!(bias_labels.len(), if has_mlp { 3 } else { 1 });
    c.tensor("bias_logits", bias);

    // ---- cache views ------------------------------------------------------------------------
    let run = CachedRun::new(m, &f.tokens).unwrap();
    let resid = run.decompose_resid(None, false, Mode::All, true, &all).unwrap();
    c.labels("decompose_resid", &resid.labels);
    c.tensor("decompose_resid", resid.t.clone());
    let resid_ne = run.decompose_resid(None, false, Mode::All, false, &all).unwrap();
    c.labels("decompose_resid_noembed", &resid_ne.labels);
    if has_ln {
        c.tensor("decompose_resid_ln", run.apply_ln_to_stack(resid.clone(), None, false, false).unwrap().t);
        let heads = run.stack_head_results(None, false, &all).unwrap();
        c.tensor("stack_head_results_ln", run.apply_ln_to_stack(heads, None, false, false).unwrap().t);
    }
    let acc = run.accumulated_resid(None, has_mlp, false, if big { &last } else { &all }).unwrap();
    c.labels("accumulated_resid", &acc.labels);
    c.tensor("accumulated_resid", acc.t);
    c.tensor("logit_lens", run.logit_lens(has_mlp, &all).unwrap().t);
    let heads = run.stack_head_results(None, true, if big { &last } else { &all }).unwrap();
    c.labels("stack_head_results_rem", &heads.labels);
    c.tensor("stack_head_results_rem", heads.t);
    if has_mlp {
        let slice: Option<Vec<usize>> = serde_json::from_value(c.meta["neuron_slice"].clone()).unwrap();
        let neur = run.stack_neuron_results(None, slice.as_deref(), true, &last, None).unwrap();
        c.labels("stack_neuron_results_rem", &neur.labels);
        c.tensor("stack_neuron_results_rem", neur.t);
        let w_u = weights::w_u(m);
        c.tensor(
            "stack_neuron_results_proj",
            run.stack_neuron_results(None, slice.as_deref(), false, &last, Some(&w_u)).unwrap().t,
        );
        let full_n = run.full_resid_decomposition(None, false, true, &last).unwrap();
        c.labels("full_resid_neurons", &full_n.labels);
        if !big {
            c.tensor("full_resid_neurons", full_n.t);
        }
    }
    let full = run.full_resid_decomposition(None, false, false, &all).unwrap();
    c.labels("full_resid", &full.labels);
    if big {
        c.tensor("full_resid", run.full_resid_decomposition(None, false, false, &last).unwrap().t);
    } else {
        c.tensor("full_resid", full.t.clone());
    }
    let wrong: Vec<i64> = filled.iter().map(|&t| (t + 1) % cfg.d_vocab_out as i64).collect();
    c.tensor("logit_attrs", run.logit_attrs(full.clone(), &filled, None).unwrap());
    c.tensor("logit_attrs_diff", run.logit_attrs(full, &filled, Some(&wrong)).unwrap());
    let acc_all = run.accumulated_resid(None, has_mlp, false, &all).unwrap();
    c.tensor("logit_lens_attrs", run.logit_attrs(acc_all, &filled, None).unwrap());
    c.tensor(
        "head_logit_attrs",
        run.logit_attrs(run.stack_head_results(None, false, &all).unwrap(), &filled, None).unwrap(),
    );
    let dla = run.dla_vocab(resid).unwrap();
    c.tensor("dla", dla.t.clone());
    match name {
        "majority" => {
            let idx = toylens::analysis::run::index_tensor(&[0, 2, 3], &device); // embed, attn_out, mlp_out
            c.tensor("dla_notebook", dla.t.clone().select(0, idx));
        }
        "cumsum" => c.tensor("dla_notebook", run.dla_vocab(resid_ne).unwrap().t),
        _ => {}
    }
    if c.has("dla_by_label_mean") {
        let [n_c, _, _, v] = dla.t.dims();
        let g = grouping::group_by_label(dla.t.reshape([n_c, b * p, v]), &targets, cfg.d_vocab_out).unwrap();
        c.tensor("dla_by_label_mean", g.mean);
        c.tensor("dla_by_label_std", g.std);
    }

    // ---- metrics ----------------------------------------------------------------------------
    let la = metrics::loss_accuracy(run.logits.clone(), &targets).unwrap();
    c.scalars("loss_acc", &[la.loss, la.accuracy]);
    let cp = metrics::correct_prob(run.logits.clone(), &targets).unwrap();
    c.scalars("correct_prob", &[cp.mean_prob, cp.median_prob, cp.min_prob]);
    let ts = metrics::target_token_stats(run.logits.clone(), &targets).unwrap();
    let scored = |key: &str, c: &Checker| -> Vec<f32> {
        c.f32(key).iter().zip(&targets).map(|(v, &t)| if t < 0 { f32::NAN } else { *v }).collect()
    };
    for (key, t) in
        [("target_logit", &ts.logit), ("target_logit_centered", &ts.centered_logit), ("target_log_prob", &ts.log_prob)]
    {
        let want = scored(key, &c);
        let d = diff(&t.values, &want);
        c.record(key, d, TOL);
    }
    let pred: Vec<f32> = c.i64("predicted").iter().map(|&x| x as f32).collect();
    let d = diff(&ts.predicted.values, &pred);
    c.record("predicted", d, 0.0);

    // ---- interventions ------------------------------------------------------------------------
    let uniform = run.ablation(&Target::UniformAttention { layer: 0, heads: None }, Ablation::Zero).unwrap();
    let u = run.measure(&[uniform], &targets).unwrap();
    c.scalars("uniform_attention", &[u.loss, u.accuracy]);
    for (kind, k) in [(Ablation::Zero, "zero"), (Ablation::Mean, "mean")] {
        let scan = run.head_ablation_scan(kind, &targets).unwrap();
        let v: Vec<f32> = scan.loss.values.iter().zip(&scan.accuracy.values).flat_map(|(l, a)| [*l, *a]).collect();
        c.scalars(&format!("head_ablation_{k}"), &v);
        let mut comps = vec!["blocks.0.hook_attn_out".to_string()];
        if has_mlp {
            comps.push("blocks.0.hook_mlp_out".into());
        }
        let v: Vec<f32> = comps
            .into_iter()
            .flat_map(|hook| {
                let r = run.ablate(&Target::Component { hook }, kind, &targets).unwrap().ablated;
                [r.loss, r.accuracy]
            })
            .collect();
        c.scalars(&format!("component_ablation_{k}"), &v);
        if has_mlp {
            let neurons: Vec<usize> = serde_json::from_value(c.meta["neuron_set"].clone()).unwrap();
            let target = Target::Neurons { layer: 0, neurons };
            let r = run.ablate(&target, kind, &targets).unwrap().ablated;
            c.scalars(&format!("neuron_ablation_{k}"), &[r.loss, r.accuracy]);
            let pr = run.ablated_predictions(&target, kind).unwrap();
            let want: Vec<f32> = c.i64(&format!("neuron_ablation_{k}_pred")).iter().map(|&x| x as f32).collect();
            let d = diff(&pr.ablated.values, &want);
            c.record(&format!("neuron_ablation_{k}_pred"), d, 0.0);
        }
    }
    let corrupted = Tokens::new(b, p, c.i64("corrupted")).unwrap();
    let mut kinds = vec![
        ("resid_pre", PatchKind::ResidPre),
        ("attn_out", PatchKind::AttnOut),
        ("head_out_all_pos", PatchKind::HeadOutAllPos),
        ("head_out_by_pos", PatchKind::HeadOutByPos),
    ];
    if has_mlp {
        kinds.push(("mlp_out", PatchKind::MlpOut));
    }
    for (key, kind) in kinds {
        let r = run.activation_patching(&corrupted, kind, &targets).unwrap();
        let mut v = r.loss.values.clone();
        v.extend(&r.accuracy.values);
        let mut shape = vec![2];
        shape.extend(&r.loss.shape);
        c.close(&format!("patch_{key}"), &v, &shape);
        c.scalars("corrupted_loss_acc", &[r.corrupted.loss, r.corrupted.accuracy]);
    }

    // ---- neurons and attention ---------------------------------------------------------------
    if has_mlp {
        c.tensor("neuron_position_means", keep_last(run.neuron_position_means(0).unwrap(), kept));
        c.tensor("neuron_heatmap", keep_last(run.neuron_heatmap(0, 0).unwrap(), kept));
        let g = run.neurons_by_label(0, &targets, cfg.d_vocab_out).unwrap();
        let [_, l, n_m] = g.mean.dims();
        c.tensor("neurons_by_label_mean", keep_last(g.mean.reshape([l, n_m]), kept));
        c.tensor("neurons_by_label_std", keep_last(g.std.reshape([l, n_m]), kept));
        let top = run.top_neurons(0, 5).unwrap();
        let want: Vec<usize> = c.i64("top_neurons").iter().map(|&x| x as usize).collect();
        if top.neurons != want {
            c.failures.push(format!("{name}: top neurons {:?}, TL {want:?}", top.neurons));
        }
        c.scalars("top_neuron_means", &top.mean_activation);
        let ids: Vec<usize> = serde_json::from_value(c.meta["neuron_sum"].clone()).unwrap();
        c.tensor("neuron_sum", run.neuron_sum(0, &ids).unwrap());
    }
    c.tensor("attention_from_last_mean", run.attention_from(0, p - 1).unwrap().mean_dim(0).squeeze_dim::<2>(0));

    // ---- task-specific ------------------------------------------------------------------------
    match name {
        "addition" => {
            let all = addition::addition_losses(run.logits.clone(), &f.tokens, 5).unwrap();
            let r = &all.losses;
            let mut v = r.per_token.clone();
            v.push(r.ba_alldigits);
            v.extend(&r.ba_perdigit);
            v.push(r.uc1_anydigits);
            v.extend(&r.uc1_perdigit);
            v.extend([r.us9_onedigit, r.us9_twodigits]);
            v.extend(&r.us9_perdigit);
            c.scalars("addition_losses", &v);
            let cat = &all.categories;
            let flat: Vec<f32> = [&cat.base_adds, &cat.make_carry1s, &cat.sum9s, &cat.use_carry1s, &cat.use_sum9s]
                .iter()
                .flat_map(|m| m.iter().flatten().map(|&x| x as f32))
                .collect();
            c.close("addition_categories", &flat, &[5, b, 5]);
        }
        "majority" => {
            let rc = counts::running_counts(&f.tokens, cfg.d_vocab);
            c.labeled("running_counts", &rc);
        }
        "min" => {
            let grid = attention::pair_grid_attention(m, cfg.d_vocab - 1, cfg.d_vocab as i64 - 1, 0).unwrap();
            c.labeled("min_attention_grid", &grid);
        }
        _ => {}
    }
    c.finish(|k| !processed(k));
}

#[test]
fn cumsum_matches_transformer_lens() {
    check_fixture("cumsum");
}

#[test]
fn min_matches_transformer_lens() {
    check_fixture("min");
}

#[test]
fn addition_matches_transformer_lens() {
    check_fixture("addition");
}

#[test]
fn majority_matches_transformer_lens() {
    check_fixture("majority");
}

#[test]
fn sorting_matches_transformer_lens() {
    check_fixture("sorting");
}

/// The generator's targets (written from the notebooks' definitions) are what the task
/// labellers in `toylens::tasks` say for the same tokens.
#[test]
fn fixture_targets_are_the_task_labels() {
    for name in ["cumsum", "min", "addition", "majority", "sorting"] {
        let f = load(name, &Device::flex());
        let c = Checker::new(name);
        let task = toylens::tasks::by_id(name).unwrap();
        assert_eq!(task.label(&f.tokens).unwrap(), c.i64("targets"), "{name}");
    }
}

/// A knob a compared catalog row is run with, on top of `Options::default()`.
#[derive(Clone, Copy)]
enum Knob {
    /// `--ablation mean` (zero is the default).
    Mean,
    Patch(PatchKind),
    /// `--positions -1`.
    Last,
    /// `--positions -1` on a big fixture, whose reference keeps only the last position.
    LastIfBig,
    /// `--neurons` from this key of the fixture's meta: null is every neuron; absent (an
    /// attention-only model, which must refuse the row) some neurons.
    Neurons(&'static str),
    Top(usize),
}

/// How the value at a JSON path of a catalog row's result is compared with its reference.
#[derive(Clone, Copy)]
enum Cmp {
    /// A LabeledTensor: values and shape.
    Same,
    /// As Same, against the reference NaN where the target is unscored (the row leaves
    /// those out; the reference is computed with them filled).
    Scored,
    /// As Same, against the softmax of the reference over its last axis.
    Softmax,
    /// As Same, against the reference less its mean over the last axis.
    Centred,
    /// As Same, with our last (neuron) axis cut to the fixture's `neurons_kept`.
    Cut,
    /// A LabeledTensor [..] against the reference [n, batch, pos] averaged over scored positions.
    ScoredMean,
    /// The numbers under the path (the named fields of each object, in order) against the
    /// reference's values.
    Numbers(&'static [&'static str]),
    /// As Numbers, against row `i` of the reference [m, k].
    RefRow(usize, &'static [&'static str]),
    /// The named LabeledTensors interleaved element by element (TL's [.., (loss, accuracy)]).
    Zip(&'static [&'static str]),
    /// The named LabeledTensors stacked on a new first axis.
    Stack(&'static [&'static str]),
    /// Singular vectors as columns / rows, up to sign, with the singular values at that path.
    SignedCols(Option<&'static str>),
    SignedRows(Option<&'static str>),
    /// Eigenvalues as a set.
    Eigen,
    /// The first axis' labels against the fixture's meta labels of that key.
    Labels,
}

/// (JSON pointer into the result, reference key, comparison).
type Check = (&'static str, &'static str, Cmp);

const LOSS_ACC: &[&str] = &["loss", "accuracy"];

/// Every catalog row with a TL counterpart: (row, knobs, checks), a row once per set of knobs.
/// A check whose reference the fixture lacks (attention-only, small or big models) is not
/// made on it; each is made on some fixture.
const COMPARED: &[(&str, &[Knob], &[Check])] = {
    use Cmp::*;
    use Knob::*;
    &[
        ("ov", &[], &[("", "ov_AB", Same), ("/norm", "ov_norm", Same), ("/eigenvalues", "ov_eig", Eigen)]),
        ("qk", &[], &[("", "qk_AB", Same), ("/norm", "qk_norm", Same), ("/eigenvalues", "qk_eig", Eigen)]),
        (
            "ov_svd",
            &[],
            &[("", "ov_S", Same), ("/U", "ov_U", SignedCols(Some(""))), ("/V", "ov_V", SignedCols(Some("")))],
        ),
        (
            "qk_svd",
            &[],
            &[("", "qk_S", Same), ("/U", "qk_U", SignedCols(Some(""))), ("/V", "qk_V", SignedCols(Some("")))],
        ),
        ("decompose_resid", &[], &[("", "decompose_resid", Same), ("", "decompose_resid", Labels)]),
        ("decompose_resid_ln", &[], &[("", "decompose_resid_ln", Same), ("", "decompose_resid", Labels)]),
        ("accumulated_resid", &[LastIfBig], &[("", "accumulated_resid", Same), ("", "accumulated_resid", Labels)]),
        (
            "stack_head_results",
            &[LastIfBig],
            &[("", "stack_head_results_rem", Same), ("", "stack_head_results_rem", Labels)],
        ),
        (
            "stack_neuron_results",
            &[Last, Neurons("neuron_slice")],
            &[("", "stack_neuron_results_rem", Same), ("", "stack_neuron_results_rem", Labels)],
        ),
        ("full_resid_decomposition", &[LastIfBig], &[("", "full_resid", Same), ("", "full_resid", Labels)]),
        ("dla", &[], &[("", "dla", Same), ("", "decompose_resid", Labels)]),
        ("dla_centred", &[], &[("", "dla", Centred)]),
        ("probs", &[], &[("", "cache/logits", Softmax)]),
        ("ablated_logits", &[], &[("/baseline", "cache/logits", Same)]),
        ("attention_pattern", &[], &[("", "cache/blocks.0.attn.hook_pattern", Same)]),
        ("attention_from", &[], &[("", "attention_from_last_mean", Same)]),
        (
            "loss",
            &[],
            &[
                ("", "loss_acc", Numbers(LOSS_ACC)),
                ("", "correct_prob", Numbers(&["mean_prob", "median_prob", "min_prob"])),
            ],
        ),
        (
            "svd_W_E",
            &[],
            &[
                ("", "svd_W_E_S", Same),
                ("/U", "svd_W_E_U", SignedCols(Some(""))),
                ("/Vh", "svd_W_E_Vh", SignedRows(Some(""))),
                ("/projection", "svd_W_E_proj", SignedCols(None)),
            ],
        ),
        (
            "svd_W_U",
            &[],
            &[
                ("", "svd_W_U_S", Same),
                ("/U", "svd_W_U_U", SignedCols(Some(""))),
                ("/Vh", "svd_W_U_Vh", SignedRows(Some(""))),
                ("/projection", "svd_W_U_proj", SignedCols(None)),
            ],
        ),
        (
            "svd_W_E_OV",
            &[],
            &[
                ("", "svd_E_OV_S", Same),
                ("/Vh", "svd_E_OV_Vh", SignedRows(Some(""))),
                ("/projection", "svd_E_OV_proj", SignedCols(None)),
            ],
        ),
        (
            "unembed_directions",
            &[],
            &[
                ("/embed_ov", "unembed_dirs_ov", SignedCols(None)),
                ("/w_u", "unembed_dirs_w_u", SignedCols(None)),
                ("/w_out", "unembed_dirs_w_out", SignedCols(None)),
            ],
        ),
        ("full_ov", &[], &[("", "full_ov", Same)]),
        ("neuron_logits", &[], &[("", "neuron_logits", Same)]),
        ("bias_logits", &[], &[("", "bias_logits", Same)]),
        (
            "dla_by_label",
            &[],
            &[
                ("/mean", "dla_by_label_mean", Same),
                ("/std", "dla_by_label_std", Same),
                ("/mean", "decompose_resid", Labels),
            ],
        ),
        ("neurons_by_label", &[], &[("/mean", "neurons_by_label_mean", Cut), ("/std", "neurons_by_label_std", Cut)]),
        (
            "uniform_attention",
            &[],
            &[("/baseline", "loss_acc", Numbers(LOSS_ACC)), ("/uniform", "uniform_attention", Numbers(LOSS_ACC))],
        ),
        ("full_qk", &[], &[("", "full_qk", Same)]),
        ("ov_diag_top1", &[], &[("", "ov_diag_top1", Same)]),
        ("min_attention_grid", &[], &[("", "min_attention_grid", Same)]),
        (
            "addition_losses",
            &[],
            &[
                (
                    "",
                    "addition_losses",
                    Numbers(&[
                        "per_token",
                        "ba_alldigits",
                        "ba_perdigit",
                        "uc1_anydigits",
                        "uc1_perdigit",
                        "us9_onedigit",
                        "us9_twodigits",
                        "us9_perdigit",
                    ]),
                ),
                (
                    "/categories",
                    "addition_categories",
                    Numbers(&["base_adds", "make_carry1s", "sum9s", "use_carry1s", "use_sum9s"]),
                ),
            ],
        ),
        ("logit_lens", &[], &[("", "logit_lens", Same), ("", "accumulated_resid", Labels)]),
        ("logit_lens_attrs", &[], &[("", "logit_lens_attrs", Scored), ("", "accumulated_resid", Labels)]),
        ("head_dla", &[], &[("/dla", "head_logit_attrs", ScoredMean)]),
        (
            "head_attribution",
            &[],
            &[
                ("/dla", "head_logit_attrs", ScoredMean),
                ("/zero_ablation", "head_ablation_zero", Zip(LOSS_ACC)),
                ("/mean_ablation", "head_ablation_mean", Zip(LOSS_ACC)),
                ("/zero_ablation/baseline", "loss_acc", Numbers(LOSS_ACC)),
            ],
        ),
        (
            "ablate_head",
            &[],
            &[("/ablated", "head_ablation_zero", RefRow(0, LOSS_ACC)), ("/baseline", "loss_acc", Numbers(LOSS_ACC))],
        ),
        ("ablate_head", &[Mean], &[("/ablated", "head_ablation_mean", RefRow(0, LOSS_ACC))]),
        (
            "component_ablation",
            &[],
            &[("/results", "component_ablation_zero", Numbers(LOSS_ACC)), ("/baseline", "loss_acc", Numbers(LOSS_ACC))],
        ),
        ("component_ablation", &[Mean], &[("/results", "component_ablation_mean", Numbers(LOSS_ACC))]),
        (
            "head_ablation",
            &[],
            &[("", "head_ablation_zero", Zip(LOSS_ACC)), ("/baseline", "loss_acc", Numbers(LOSS_ACC))],
        ),
        ("head_ablation", &[Mean], &[("", "head_ablation_mean", Zip(LOSS_ACC))]),
        (
            "patching",
            &[Patch(PatchKind::ResidPre)],
            &[
                ("", "patch_resid_pre", Stack(LOSS_ACC)),
                ("/clean", "loss_acc", Numbers(LOSS_ACC)),
                ("/corrupted", "corrupted_loss_acc", Numbers(LOSS_ACC)),
            ],
        ),
        ("patching", &[Patch(PatchKind::AttnOut)], &[("", "patch_attn_out", Stack(LOSS_ACC))]),
        ("patching", &[Patch(PatchKind::MlpOut)], &[("", "patch_mlp_out", Stack(LOSS_ACC))]),
        ("patching", &[Patch(PatchKind::HeadOutAllPos)], &[("", "patch_head_out_all_pos", Stack(LOSS_ACC))]),
        ("patching", &[Patch(PatchKind::HeadOutByPos)], &[("", "patch_head_out_by_pos", Stack(LOSS_ACC))]),
        ("running_counts", &[], &[("", "running_counts", Same)]),
        ("ov_to_neurons", &[], &[("", "ov_to_neurons", Cut)]),
        ("neuron_acts", &[], &[("", "neuron_heatmap", Cut)]),
        ("neuron_position_means", &[], &[("", "neuron_position_means", Cut)]),
        (
            "top_neurons",
            &[Top(5)],
            &[("/neurons", "top_neurons", Numbers(&[])), ("/mean_activation", "top_neuron_means", Numbers(&[]))],
        ),
        ("neuron_sum", &[Neurons("neuron_sum")], &[("", "neuron_sum", Same)]),
        (
            "ablate_neurons",
            &[Neurons("neuron_set")],
            &[("/ablated", "neuron_ablation_zero", Numbers(LOSS_ACC)), ("/baseline", "loss_acc", Numbers(LOSS_ACC))],
        ),
        ("ablate_neurons", &[Neurons("neuron_set"), Mean], &[("/ablated", "neuron_ablation_mean", Numbers(LOSS_ACC))]),
        (
            "ablated_predictions",
            &[Neurons("neuron_set")],
            &[("/ablated", "neuron_ablation_zero_pred", Same), ("/baseline", "predicted", Same)],
        ),
        ("ablated_predictions", &[Neurons("neuron_set"), Mean], &[("/ablated", "neuron_ablation_mean_pred", Same)]),
        ("full_ov_pos", &[], &[("", "full_ov_pos", Same)]),
        ("full_qk_pos", &[], &[("", "full_qk_pos", Same)]),
        (
            "predictions",
            &[],
            &[
                ("/logit", "target_logit", Scored),
                ("/centered_logit", "target_logit_centered", Scored),
                ("/log_prob", "target_log_prob", Scored),
                ("/predicted", "predicted", Same),
            ],
        ),
        // Its targets are the next tokens, which TL's references do not score; the argmax is TL's.
        ("next_token_predictions", &[], &[("/predicted", "predicted", Same)]),
        ("logit_attrs", &[], &[("", "logit_attrs", Scored), ("", "full_resid", Labels)]),
        (
            "sorting_example",
            &[],
            &[
                ("/predictions/predicted", "predicted", Same),
                ("/predictions/log_prob", "target_log_prob", Scored),
                ("/logit_attrs", "logit_attrs", Scored),
                ("/attention", "cache/blocks.0.attn.hook_pattern", Same),
            ],
        ),
    ]
};

/// Catalog rows with no TL counterpart among the references, and why.
const NO_TL: &[(&str, &str)] = &[
    (
        "attention_entropy",
        "not a TL function; attention_entropy_matches_a_brute_force_on_tl_patterns checks it on TL's patterns",
    ),
    ("addition_examples", "a choice of example sums by kind, with their patterns: no computation of TL's"),
    (
        "addition_digit_ablation",
        "the page's per-digit table; addition_digit_views_agree_with_the_general_analyses ties it to ablate",
    ),
    (
        "addition_logit_lens",
        "the page's per-digit lens; addition_digit_views_agree_with_the_general_analyses ties it to logit_lens_attrs",
    ),
    (
        "neuron_ablation_scan",
        "each neuron alone, which TL's references do not hold; neuron_ablation_scan_agrees_with_ablate_neurons ties it to ablate",
    ),
];

/// The numbers under `v`, depth first; of an object, only `fields`, in that order (null is NaN).
fn numbers(v: &Value, fields: &[&str]) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(|x| numbers(x, fields)).collect(),
        Value::Object(o) => {
            fields.iter().flat_map(|f| o.get(*f).map(|x| numbers(x, &[])).unwrap_or_default()).collect()
        }
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        _ => vec![f32::NAN],
    }
}

fn labeled_at(v: &Value) -> LabeledTensor {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a labeled tensor: {e}"))
}

/// The reference `key` with `f` applied to each row of its last axis.
fn per_row(c: &Checker, key: &str, f: impl Fn(&mut [f32])) -> Vec<f32> {
    let mut w = c.f32(key);
    let n = *c.shape(key).last().unwrap();
    w.chunks_mut(n).for_each(f);
    w
}

/// One check of a catalog result `out` (the value at its path is `v`).
fn compare(c: &mut Checker, out: &Value, v: &Value, key: &str, how: Cmp, targets: &[i64]) {
    let scored = |i: usize| targets[i % targets.len()] >= 0;
    let (got, got_shape, want): (Vec<f32>, Option<Vec<usize>>, Vec<f32>) = match how {
        Cmp::Same => {
            let t = labeled_at(v);
            (t.values, Some(t.shape), c.f32(key))
        }
        Cmp::Scored => {
            let t = labeled_at(v);
            let want = c.f32(key).iter().enumerate().map(|(i, &x)| if scored(i) { x } else { f32::NAN }).collect();
            (t.values, Some(t.shape), want)
        }
        Cmp::Softmax => {
            let t = labeled_at(v);
            let want = per_row(c, key, |r| {
                let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let z: f64 = r.iter().map(|&x| ((x - m) as f64).exp()).sum();
                r.iter_mut().for_each(|x| *x = (((*x - m) as f64).exp() / z) as f32);
            });
            (t.values, Some(t.shape), want)
        }
        Cmp::Centred => {
            let t = labeled_at(v);
            let want = per_row(c, key, |r| {
                let mean = r.iter().map(|&x| x as f64).sum::<f64>() / r.len() as f64;
                r.iter_mut().for_each(|x| *x -= mean as f32);
            });
            (t.values, Some(t.shape), want)
        }
        Cmp::Cut => {
            let t = labeled_at(v);
            let n = *t.shape.last().unwrap();
            let keep = c.meta["neurons_kept"].as_u64().map_or(n, |k| k as usize);
            let values = t.values.chunks(n).flat_map(|r| r[..keep].to_vec()).collect();
            let mut s = t.shape;
            *s.last_mut().unwrap() = keep;
            (values, Some(s), c.f32(key))
        }
        Cmp::ScoredMean => {
            let (w, per) = (c.f32(key), targets.len());
            let n = (0..per).filter(|&i| scored(i)).count() as f64;
            let want = w
                .chunks(per)
                .map(|r| {
                    (r.iter().enumerate().filter(|(i, _)| scored(*i)).map(|(_, &x)| x as f64).sum::<f64>() / n) as f32
                })
                .collect();
            (labeled_at(v).values, None, want)
        }
        Cmp::Numbers(fields) => (numbers(v, fields), None, c.f32(key)),
        Cmp::RefRow(i, fields) => {
            let k = c.shape(key)[1];
            (numbers(v, fields), None, c.f32(key)[i * k..(i + 1) * k].to_vec())
        }
        Cmp::Zip(fields) => {
            let ts: Vec<LabeledTensor> = fields.iter().map(|f| labeled_at(&v[f])).collect();
            let got = (0..ts[0].values.len()).flat_map(|i| ts.iter().map(move |t| t.values[i])).collect();
            (got, None, c.f32(key))
        }
        Cmp::Stack(fields) => {
            let ts: Vec<LabeledTensor> = fields.iter().map(|f| labeled_at(&v[f])).collect();
            let s = [vec![ts.len()], ts[0].shape.clone()].concat();
            (ts.into_iter().flat_map(|t| t.values).collect(), Some(s), c.f32(key))
        }
        Cmp::SignedCols(s) | Cmp::SignedRows(s) => {
            let s = s.map(|p| labeled_at(out.pointer(p).unwrap()));
            if matches!(how, Cmp::SignedCols(_)) {
                c.columns_up_to_sign(key, &labeled_at(v), s.as_ref());
            } else {
                c.rows_up_to_sign(key, &labeled_at(v), s.as_ref());
            }
            return;
        }
        Cmp::Eigen => return c.eigen_set(key, &labeled_at(v)),
        Cmp::Labels => {
            let t = labeled_at(v);
            return c.labels(key, &t.labels[&t.axes[0]]);
        }
    };
    let shape = c.shape(key);
    c.close_to(key, &got, got_shape.as_deref(), &want, &shape);
}

/// Every catalogued analysis runs on every notebook fixture (or refuses with a reason when the
/// model lacks the part it needs), and the JSON of each row with a TL counterpart (what
/// `toylens analyze --what` prints and the browser reads) has the TL references' values.
#[test]
fn catalog_runs_every_analysis() {
    use toylens::analysis::catalog::{self, Inputs, Options};
    use toylens::analysis::run::RunCache;
    // Each row is compared or said to have no counterpart, so a new row must be classified.
    for e in catalog::all() {
        let (cmp, no) = (COMPARED.iter().any(|r| r.0 == e.name), NO_TL.iter().any(|r| r.0 == e.name));
        assert!(cmp != no, "{}: compare it with TL in COMPARED or say why not in NO_TL (not both)", e.name);
    }
    for name in COMPARED.iter().map(|r| r.0).chain(NO_TL.iter().map(|r| r.0)) {
        catalog::find(name).unwrap();
    }
    let needs_mlp = [
        "ov_to_neurons",
        "neuron_logits",
        "stack_neuron_results",
        "neuron_acts",
        "neuron_position_means",
        "neurons_by_label",
        "top_neurons",
        "neuron_sum",
        "ablate_neurons",
        "ablated_predictions",
        "ablated_logits",
        "neuron_ablation_scan",
        "patching",
    ];
    let no_checks: &[Check] = &[];
    let jobs: Vec<(&str, &[Knob], &[Check])> =
        COMPARED.iter().copied().chain(NO_TL.iter().map(|&(n, _)| (n, &[] as &[Knob], no_checks))).collect();
    let mut made = std::collections::BTreeSet::new();
    for name in ["cumsum", "min", "addition", "majority", "sorting"] {
        let mut f = load(name, &Device::flex());
        let mut c = Checker::new(name).with_cache(std::mem::take(&mut f.expected));
        let big = c.meta["big"].as_bool().unwrap();
        let targets = c.i64("targets");
        // Patching's default corruption (no --corrupted) is the fixtures' own.
        assert_eq!(catalog::rolled(&f.tokens).ids, c.i64("corrupted"), "{name}: corrupted tokens");
        let mut runs = RunCache::default();
        let mut rows = std::collections::BTreeSet::new();
        for (i, &(what, knobs, checks)) in jobs.iter().enumerate() {
            let runs_here = match what {
                a if a.starts_with("addition_") => name == "addition",
                "min_attention_grid" => name == "min",
                _ => true,
            };
            if !runs_here {
                continue;
            }
            let mut opts = Options::default();
            for k in knobs {
                match *k {
                    Knob::Mean => opts.ablation = Ablation::Mean,
                    Knob::Patch(p) => opts.patch = p,
                    Knob::Last => opts.positions = Some(vec![-1]),
                    Knob::LastIfBig => opts.positions = big.then(|| vec![-1]),
                    Knob::Top(n) => opts.top = n,
                    Knob::Neurons(key) => {
                        opts.neurons = match c.meta.get(key) {
                            Some(v) => {
                                serde_json::from_value::<Option<Vec<usize>>>(v.clone()).unwrap().unwrap_or_default()
                            }
                            None => vec![0, 1],
                        }
                    }
                }
            }
            let inputs =
                Inputs { tokens: Some(f.tokens.clone()), targets: Some(targets.clone()), opts, ..Inputs::default() };
            let out = match catalog::run_with(what, &f.model, &inputs, &mut runs, name) {
                Ok(out) => out,
                Err(err) => {
                    assert!(
                        f.cfg.attn_only && needs_mlp.contains(&what) && err.to_string().contains("attention-only"),
                        "{name}/{what}: {err}"
                    );
                    continue;
                }
            };
            assert!(out.as_object().is_some_and(|o| !o.is_empty()), "{name}/{what}: empty");
            for (j, &(path, key, how)) in checks.iter().enumerate() {
                let have = match how {
                    Cmp::Labels => c.meta["labels"].get(key).is_some(),
                    _ => c.has(key),
                };
                if !have {
                    continue;
                }
                c.context = format!("{what}{path} ~ ");
                match out.pointer(path) {
                    Some(v) => compare(&mut c, &out, v, key, how, &targets),
                    None => c.fail(format!("{key}: the result has no {path}")),
                }
                made.insert((i, j));
                rows.insert(what);
            }
        }
        c.context.clear();
        let unread: Vec<&String> = c
            .want
            .keys()
            .filter(|k| !processed(k) && !k.starts_with("cache/") && !c.used.borrow().contains(*k))
            .collect();
        println!(
            "CATALOG PARITY {name}: {} of {} rows compared; references no row exposes: {unread:?}",
            rows.len(),
            catalog::all().count()
        );
        c.finish(|_| false);
    }
    for (i, (what, _, checks)) in COMPARED.iter().enumerate() {
        for (j, (path, key, _)) in checks.iter().enumerate() {
            assert!(made.contains(&(i, j)), "{what}{path} ~ {key}: on no fixture");
        }
    }
}

/// `toylens analyze` end to end: the JSON it prints is the library's, with TL's values.
#[test]
fn cli_prints_analyses_as_json() {
    let dir = fixtures_dir().join("min");
    let run = |what: &str, extra: &[&str]| -> Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_toylens"))
            .args(["analyze", "min", "--weights"])
            .arg(dir.join("weights.safetensors"))
            .arg("--config")
            .arg(dir.join("config.json"))
            .arg("--tokens")
            .arg(dir.join("cache.safetensors"))
            .args(["--what", what])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let c = Checker::new("min");
    let ov = run("full_ov", &[]);
    assert_eq!(ov["shape"], serde_json::json!([1, 201, 200]));
    assert_eq!(ov["labels"]["token"][200], "=");
    let got: Vec<f32> = ov["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert!(diff(&got, &c.f32("full_ov")) <= TOL);
    let d = run("ov_diag_top1", &[]);
    assert_eq!(d["values"][0].as_f64().unwrap() as f32, c.f32("ov_diag_top1")[0]);
    let u = run("uniform_attention", &[]);
    assert!((u["uniform"]["loss"].as_f64().unwrap() as f32 - c.f32("uniform_attention")[0]).abs() <= TOL);
    let list = std::process::Command::new(env!("CARGO_BIN_EXE_toylens")).args(["analyze", "--list"]).output().unwrap();
    let text = String::from_utf8(list.stdout).unwrap();
    for name in ["full_ov", "full_qk", "svd_W_E", "ov_svd", "decompose_resid", "uniform_attention", "ov_diag_top1"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "--list lacks {name}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_toylens"))
        .args(["analyze", "min", "--weights"])
        .arg(dir.join("weights.safetensors"))
        .args(["--what", "no_such_analysis"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--list"));
}

/// TL's weight processing (`load_and_process_state_dict` defaults, and the cumsum notebook's
/// three calls) gives TL's tensors, and the processed model has the same log-probs.
#[test]
fn weight_processing_matches_transformer_lens() {
    use burn::tensor::activation::log_softmax;
    use toylens::io::safetensors::read_state_dict;
    use toylens::model::HookedTransformer;
    use toylens::model::process::{self, Processing};
    for name in ["cumsum", "min", "addition", "majority", "sorting"] {
        let device = Device::flex();
        let f = load(name, &device);
        let mut c = Checker::new(name);
        let sd =
            read_state_dict(&std::fs::read(fixtures_dir().join(name).join("weights.safetensors")).unwrap()).unwrap();
        let (cfg, psd) = process::process_weights(&f.cfg, &sd, Processing::TL_DEFAULT).unwrap();
        let want_norm = c.meta["processed_normalization_type"].clone();
        let got_norm = cfg.to_json()["normalization_type"].clone();
        assert_eq!(got_norm, want_norm, "{name}: normalization after processing");
        let refs: Vec<String> = c.want.keys().filter(|k| k.starts_with("processed/")).cloned().collect();
        for key in &refs {
            let tl_name = &key["processed/".len()..];
            let (shape, v) = psd.tensors.get(tl_name).unwrap_or_else(|| panic!("{name}: we have no {tl_name}"));
            c.close(key, v, shape);
        }
        if !c.meta["big"].as_bool().unwrap() {
            let ours: Vec<&String> = psd.tensors.keys().filter(|k| !toylens::model::params::is_tl_buffer(k)).collect();
            let theirs: Vec<&str> = refs.iter().map(|k| &k["processed/".len()..]).collect();
            assert_eq!(ours, theirs, "{name}: processed tensor names");
        }
        let pm = HookedTransformer::from_state_dict(&cfg, &psd, &device).unwrap();
        let a = to_vec(log_softmax(f.model.forward(f.tokens.tensor(&device)), 2)).unwrap();
        let b = to_vec(log_softmax(pm.forward(f.tokens.tensor(&device)), 2)).unwrap();
        let d = diff(&a, &b);
        c.record("log-probs unchanged by processing", d, TOL);
        if name == "cumsum" {
            let nb = toylens::tasks::by_id("cumsum").unwrap().notebook_processing(&f.cfg, &sd).unwrap();
            let keys: Vec<String> = c.want.keys().filter(|k| k.starts_with("cumsum_processed/")).cloned().collect();
            assert!(!keys.is_empty());
            for key in keys {
                let (shape, v) = &nb.tensors[&key["cumsum_processed/".len()..]];
                c.close(&key, v, shape);
            }
        }
        c.finish(processed);
    }
}

/// neuron_ablation_scan = ablate_neurons run on each neuron alone, zero and mean: on the
/// majority fixture (the last layer's shortcut through the cached residual stream) and on
/// ln2_gelu's two layers (a forward pass per neuron in layer 0, the shortcut in layer 1, with
/// a learned final LayerNorm); unscored positions left out; the ranking sorted by the loss.
#[test]
fn neuron_ablation_scan_agrees_with_ablate_neurons() {
    let device = Device::flex();
    for (name, layers) in [("majority", vec![0]), ("ln2_gelu", vec![0, 1])] {
        let f = load(name, &device);
        let v = f.cfg.d_vocab_out as i64;
        let targets: Vec<i64> =
            f.tokens.ids.iter().enumerate().map(|(i, &t)| if i % 5 == 4 { -1 } else { (t * 7 + 3) % v }).collect();
        let run = CachedRun::new(&f.model, &f.tokens).unwrap();
        let d_mlp = f.cfg.d_mlp.unwrap();
        for layer in layers {
            for kind in [Ablation::Zero, Ablation::Mean] {
                let scan = run.neuron_ablation_scan(layer, kind, &targets).unwrap();
                assert_eq!(scan.loss.shape, vec![d_mlp]);
                for n in 0..d_mlp {
                    let one = run.ablate(&Target::Neurons { layer, neurons: vec![n] }, kind, &targets).unwrap();
                    assert!(
                        (scan.loss.values[n] - one.ablated.loss).abs() <= TOL,
                        "{name} L{layer} n{n} {kind:?}: loss"
                    );
                    assert!(
                        (scan.accuracy.values[n] - one.ablated.accuracy).abs() <= 1e-6,
                        "{name} L{layer} n{n} {kind:?}: accuracy"
                    );
                }
                let ranked: Vec<f32> = scan.ranking.iter().map(|&n| scan.loss.values[n]).collect();
                assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{name} L{layer}: ranking not by loss");
                assert_eq!(
                    scan.baseline,
                    run.ablate(&Target::Neurons { layer, neurons: vec![0] }, kind, &targets).unwrap().baseline
                );
            }
        }
    }
}

/// The addition page's per-digit analyses on the addition fixture: with nothing ablated the
/// per-digit loss is addition_losses'; averaged over the digits, each ablated row is
/// `ablate`'s loss and accuracy for the same head or component; the logit lens' right-digit
/// logit is logit_lens_attrs' (TL's accumulated residual attributed to the target); each
/// kind's example is of that kind, with its own attention pattern.
#[test]
fn addition_digit_views_agree_with_the_general_analyses() {
    use toylens::analysis::catalog::{self, Inputs};
    let f = load("addition", &Device::flex());
    let targets = toylens::tasks::by_id("addition").unwrap().label(&f.tokens).unwrap();
    let run = CachedRun::new(&f.model, &f.tokens).unwrap();
    let (b, p) = (f.tokens.batch, f.tokens.pos);
    let losses = addition::addition_losses(run.logits.clone(), &f.tokens, 5).unwrap().losses;
    let row_mean = |t: &LabeledTensor, i: usize| t.values[i * 6..(i + 1) * 6].iter().sum::<f32>() / 6.0;
    for kind in [Ablation::Zero, Ablation::Mean] {
        let t = addition::digit_ablation(&run, &targets, kind, 5, 0).unwrap();
        let rows = &t.loss.labels["ablated"];
        assert_eq!(rows[..3], ["none", "L0 attn", "L0H0"]);
        assert!(diff(&t.loss.values[..6], &losses.per_token) <= TOL, "none = addition_losses");
        for (i, r) in rows.iter().enumerate().skip(1) {
            let target = match r.strip_prefix("L0H") {
                Some(h) => Target::Head { layer: 0, head: h.parse().unwrap() },
                None if r == "L0 attn" => Target::Component { hook: "blocks.0.hook_attn_out".into() },
                None => Target::Component { hook: "blocks.0.hook_mlp_out".into() },
            };
            let want = run.ablate(&target, kind, &targets).unwrap().ablated;
            assert!((row_mean(&t.loss, i) - want.loss).abs() <= TOL, "{kind:?} {r}: loss");
            assert!((row_mean(&t.accuracy, i) - want.accuracy).abs() <= 1e-5, "{kind:?} {r}: accuracy");
        }
    }
    let lens = addition::logit_lens_digits(&run, &targets, 5, 0).unwrap();
    let inputs = Inputs { tokens: Some(f.tokens.clone()), targets: Some(targets.clone()), ..Inputs::default() };
    let attrs = catalog::run("logit_lens_attrs", &f.model, &inputs).unwrap();
    let a: Vec<f32> =
        attrs["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN) as f32).collect();
    let points = lens.logit.shape[0];
    assert_eq!(points, 3, "embeddings, after attention, after the MLP");
    for i in 0..points {
        for k in 0..6 {
            let want = (0..b).map(|e| a[(i * b + e) * p + 11 + k]).sum::<f32>() / b as f32;
            assert!((lens.logit.values[i * 6 + k] - want).abs() <= 1e-3, "lens point {i} digit {k}");
        }
    }
    let ex = addition::category_examples(&run, 0, 5, 0).unwrap();
    let cats = addition::categories(&f.tokens, 5).unwrap();
    let pattern = to_vec(run.act::<4>("blocks.0.attn.hook_pattern").unwrap()).unwrap();
    let per = ex.pattern.values.len() / ex.rows.iter().flatten().count();
    let is = |kind: &str, e: usize| match kind {
        "random" => true,
        "BaseAdd only" => cats.base_add_only[e],
        "UseCarry1, no UseSum9" => cats.use_carry1_only[e],
        "UseSum9" => cats.use_sum9[e],
        other => panic!("unknown kind {other}"),
    };
    let mut shown: Vec<usize> = vec![];
    let mut flat = 0;
    for (i, kind) in ex.categories.iter().enumerate() {
        let want = (*ex.counts.iter().min().unwrap()).min(addition::EXAMPLES_PER_KIND);
        assert_eq!(ex.rows[i].len(), want, "{kind}: as many of each kind as the scarcest has, up to three");
        for (j, &r) in ex.rows[i].iter().enumerate() {
            assert!(is(kind, r) && (i > 0 || r == j), "{kind}: row {r}");
            let unseen = (0..b).filter(|&e| is(kind, e) && !shown.contains(&e)).count();
            assert!(
                unseen < ex.rows[i].len() || !shown.contains(&r),
                "{kind}: row {r} shown before, though others are left"
            );
            assert_eq!(ex.tokens[i][j], f.tokens.ids[r * p..(r + 1) * p]);
            assert_eq!(ex.pattern.values[flat * per..(flat + 1) * per], pattern[r * per..(r + 1) * per]);
            flat += 1;
        }
        shown.extend(&ex.rows[i]);
    }
    assert_eq!(ex.counts.iter().skip(1).sum::<usize>(), b, "the three kinds partition the batch");
}

/// attention_entropy against a brute-force entropy of TransformerLens' own cached patterns
/// (the fixtures' `hook_pattern`), on one head (cumsum) and on two layers of four (ln2_gelu).
#[test]
fn attention_entropy_matches_a_brute_force_on_tl_patterns() {
    use toylens::analysis::catalog::{self, Inputs, Options};
    for name in ["cumsum", "ln2_gelu"] {
        let f = load(name, &Device::flex());
        for layer in 0..f.cfg.n_layers {
            let inputs = Inputs {
                tokens: Some(f.tokens.clone()),
                opts: Options { layer, ..Options::default() },
                ..Inputs::default()
            };
            let got = catalog::run("attention_entropy", &f.model, &inputs).unwrap();
            let got: Vec<f32> = serde_json::from_value(got["values"].clone()).unwrap();
            let tl = &f.expected[&format!("blocks.{layer}.attn.hook_pattern")];
            let (b, h, q, k) = (tl.shape[0], tl.shape[1], tl.shape[2], tl.shape[3]);
            let p = tl.to_f32();
            let mut want = vec![0f32; h * q];
            for hi in 0..h {
                for qi in 0..q {
                    let mut e = 0f64;
                    for bi in 0..b {
                        for ki in 0..k {
                            let x = p[((bi * h + hi) * q + qi) * k + ki] as f64;
                            if x > 0.0 {
                                e -= x * x.ln();
                            }
                        }
                    }
                    let max = ((qi + 1) as f64).ln();
                    want[hi * q + qi] = if max > 0.0 { (e / b as f64 / max) as f32 } else { 1.0 };
                }
            }
            assert!(diff(&got, &want) <= 1e-4, "{name} layer {layer}: {got:?} vs {want:?}");
        }
    }
}

/// Zero-ablating min's only head leaves the direct path: the ablated logits must equal
/// (W_E[token] + W_pos[pos] + b_O)·W_U + b_U, computed here by hand from the weights.
#[test]
fn ablated_logits_of_the_only_head_leave_the_direct_path() {
    use toylens::analysis::catalog::{self, Inputs, Options};
    let f = load("min", &Device::flex());
    let sd = toylens::io::read_state_dict_file(&fixtures_dir().join("min/weights.safetensors")).unwrap();
    let t = |n: &str| sd.tensors[n].1.clone();
    let (we, wp, bo, wu, bu) =
        (t("embed.W_E"), t("pos_embed.W_pos"), t("blocks.0.attn.b_O"), t("unembed.W_U"), t("unembed.b_U"));
    let (d, vo) = (f.cfg.d_model, f.cfg.d_vocab_out);
    let inputs =
        Inputs { tokens: Some(f.tokens.clone()), opts: Options { head: 0, ..Options::default() }, ..Inputs::default() };
    let got = catalog::run("ablated_logits", &f.model, &inputs).unwrap();
    let vals = |k: &str| -> Vec<f32> { serde_json::from_value(got[k]["values"].clone()).unwrap() };
    let (base, abl, change) = (vals("baseline"), vals("ablated"), vals("change"));
    assert!(diff(&base, &f.expected["logits"].to_f32()) < 1e-4, "baseline = the model's logits");
    let mut want = vec![];
    for (i, &tok) in f.tokens.ids.iter().enumerate() {
        let pos = i % f.tokens.pos;
        let x: Vec<f32> = (0..d).map(|j| we[tok as usize * d + j] + wp[pos * d + j] + bo[j]).collect();
        want.extend((0..vo).map(|o| (0..d).map(|j| x[j] * wu[j * vo + o]).sum::<f32>() + bu[o]));
    }
    assert!(diff(&abl, &want) < 1e-3, "ablated logits differ from the direct path by {}", diff(&abl, &want));
    let sub: Vec<f32> = abl.iter().zip(&base).map(|(a, b)| a - b).collect();
    assert!(diff(&change, &sub) < 1e-5);
    assert!(change.iter().any(|c| c.abs() > 1e-2), "the head matters");
}

/// An ablation in the last block computed from the cache (only what follows the ablated part,
/// at the asked positions) gives the logits of a full run with the intervention, for every
/// head, the attention output and the MLP output, zero and mean, on models with and without
/// an MLP and LayerNorm.
#[test]
fn ablations_from_the_cache_match_full_runs() {
    use toylens::model::NameFilter;
    for name in ["addition", "ln2_gelu", "min", "majority"] {
        let f = load(name, &Device::flex());
        let run = CachedRun::new(&f.model, &f.tokens).unwrap();
        let (last, p) = (f.cfg.n_layers - 1, f.tokens.pos);
        let mut targets: Vec<Target> = (0..f.cfg.n_heads).map(|head| Target::Head { layer: last, head }).collect();
        targets.push(Target::Component { hook: format!("blocks.{last}.hook_attn_out") });
        if f.cfg.has_mlp() {
            targets.push(Target::Component { hook: format!("blocks.{last}.hook_mlp_out") });
            targets.push(Target::Neurons { layer: last, neurons: vec![0, 3, f.cfg.d_mlp.unwrap() - 1] });
        }
        for positions in [(0..p).collect::<Vec<_>>(), vec![p / 2, p - 1]] {
            for target in &targets {
                for kind in [Ablation::Zero, Ablation::Mean] {
                    let fast = run.ablated_logits_at(target, kind, &positions).unwrap().expect("a last-block target");
                    let iv = run.ablation(target, kind).unwrap();
                    let (full, _) = f.model.run_with_hooks(&f.tokens, &[iv], NameFilter::None).unwrap();
                    let full = toylens::analysis::run::Positions::Only(positions.clone()).apply(full, 1);
                    let d = diff(&to_vec(fast).unwrap(), &to_vec(full).unwrap());
                    assert!(d <= TOL, "{name} {target:?} {kind:?} at {positions:?}: {d}");
                }
            }
        }
        // Elsewhere than the last block it declines (a full run is needed).
        if last > 0 {
            let early = Target::Head { layer: 0, head: 0 };
            assert!(run.ablated_logits_at(&early, Ablation::Zero, &[0]).unwrap().is_none());
        }
    }
}

/// On enough rows a head's ablation in addition's LayerNorm-free last block moves the MLP's
/// cached pre-activation by dz·(W_O^h·W_in) instead of running W_in again: the same logits.
#[test]
fn head_ablations_on_many_rows_match_full_runs() {
    use toylens::model::NameFilter;
    let f = load("addition", &Device::flex());
    assert!(f.model.folded_mlp().is_some(), "addition's last MLP folds into the unembedding");
    let tokens = toylens::tasks::by_id("addition").unwrap().held_out().tokens.rows(0, 40);
    let run = CachedRun::new(&f.model, &tokens).unwrap();
    let p = tokens.pos;
    let answer: Vec<usize> = (p - 7..p - 1).collect(); // 40 × 6 rows: past the 171 where it pays
    for head in 0..f.cfg.n_heads {
        for kind in [Ablation::Zero, Ablation::Mean] {
            let target = Target::Head { layer: 0, head };
            let fast = run.ablated_logits_at(&target, kind, &answer).unwrap().unwrap();
            let (full, _) =
                f.model.run_with_hooks(&tokens, &[run.ablation(&target, kind).unwrap()], NameFilter::None).unwrap();
            let full = toylens::analysis::run::Positions::Only(answer.clone()).apply(full, 1);
            let d = diff(&to_vec(fast).unwrap(), &to_vec(full).unwrap());
            assert!(d <= TOL, "head {head} {kind:?}: {d}");
        }
    }
}

/// dla_centred is dla with each (component, batch, pos) row's mean over the logits taken away.
#[test]
fn dla_centred_is_dla_less_its_mean_over_the_logits() {
    use toylens::analysis::catalog::{self, Inputs};
    let f = load("majority", &Device::flex());
    let inputs = Inputs { tokens: Some(f.tokens.clone()), ..Inputs::default() };
    let values = |what: &str| -> (Vec<usize>, Vec<f32>) {
        let out = catalog::run(what, &f.model, &inputs).unwrap();
        let shape = out["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        (shape, out["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
    };
    let ((shape, raw), (shape_c, centred)) = (values("dla"), values("dla_centred"));
    assert_eq!(shape, shape_c);
    let v = shape[3];
    let want: Vec<f32> = raw
        .chunks(v)
        .flat_map(|row| {
            let mean = row.iter().sum::<f32>() / v as f32;
            row.iter().map(move |x| x - mean).collect::<Vec<_>>()
        })
        .collect();
    assert!(diff(&centred, &want) <= 1e-4, "{}", diff(&centred, &want));
}
