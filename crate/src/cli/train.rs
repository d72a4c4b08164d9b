//! `toylens train`: a task's model trained with its notebook recipe; weights, config, recipe,
//! metrics and a log-spaced timeline of checkpoints.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::io::safetensors::{named_tensors, write_tensors};
use crate::model::{HookedTransformer, HookedTransformerConfig};
use crate::tasks;
use crate::train::recipe::Settings;
use crate::train::timeline::TimelinePlan;
use crate::train::{Recipe, Trainer, checkpoint_steps};
use crate::{Error, Result};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// cumsum, min, addition, majority or sorting.
    pub task: String,
    #[arg(long)]
    pub steps: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Override the recipe (`lr=3e-4`, `batch_size=64`, `optim.weight_decay=0`) or the model
    /// config (`cfg.d_model=128`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: super::common::Backend,
    /// Checkpoints in the training timeline (log-spaced). Default: 20, fewer when they would
    /// pass 48 MB (addition's 3.2 M parameters), so the shipped models stay small.
    #[arg(long)]
    pub checkpoints: Option<usize>,
}

fn parse_value(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

/// Applies `KEY=VALUE` overrides; short keys name the optimizer's fields (`beta1`, `eps`…).
/// The reader's knobs (`lr`, `steps`, `batch_size`, `seed`) go through `Recipe::with_settings`
/// with `settings`, as the page's do, so a OneCycle schedule follows them.
pub fn apply_overrides(
    cfg: &mut HookedTransformerConfig,
    recipe: &mut Recipe,
    sets: &[String],
    mut settings: Settings,
) -> Result<()> {
    let mut r = serde_json::to_value(&*recipe).expect("recipe serialises");
    let mut c = cfg.to_json();
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| Error::Config(format!("--set {s:?}: expected KEY=VALUE")))?;
        let knob = |what: &str| Error::Config(format!("--set {k}={v}: expected {what}"));
        match k {
            "lr" => settings.lr = Some(v.parse().map_err(|_| knob("a number"))?),
            "steps" => settings.steps = Some(v.parse().map_err(|_| knob("a whole number"))?),
            "batch_size" => settings.batch = Some(v.parse().map_err(|_| knob("a whole number"))?),
            "seed" => settings.seed = Some(v.parse().map_err(|_| knob("a whole number"))?),
            _ => {}
        }
        if matches!(k, "lr" | "steps" | "batch_size" | "seed") {
            continue;
        }
        let v = parse_value(v);
        if let Some(ck) = k.strip_prefix("cfg.") {
            c[ck] = v;
            continue;
        }
        let path: Vec<&str> = match k {
            "beta1" | "beta2" | "eps" | "weight_decay" => vec!["optim", k],
            other => other.split('.').collect(),
        };
        let (last, parents) = path.split_last().expect("split yields at least one part");
        let mut node = &mut r;
        for p in parents {
            node =
                node.get_mut(*p).ok_or_else(|| Error::Config(format!("--set {k}: the recipe has no field {p:?}")))?;
        }
        match node.get_mut(*last) {
            Some(n) => *n = v,
            None => return Err(Error::Config(format!("--set {k}: the recipe has no field {last:?}"))),
        }
    }
    let set: Recipe = serde_json::from_value(r).map_err(|e| Error::Config(format!("--set: {e}")))?;
    *recipe = set.with_settings(&settings);
    *cfg = HookedTransformerConfig::from_map(c.as_object().cloned().unwrap_or_default())?;
    Ok(())
}

fn write(p: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(p, bytes).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
}

/// TL-named safetensors; f16 when asked (the timeline of big models).
pub fn save_weights(model: &HookedTransformer, path: &Path, half: bool) -> Result<()> {
    write(path, &write_tensors(&named_tensors(&model.state_dict()?, half))?)
}

pub fn run(a: TrainArgs) -> Result<()> {
    let task = tasks::by_id(&a.task)?;
    let mut recipe = task.recipe();
    let mut cfg = task.config();
    apply_overrides(&mut cfg, &mut recipe, &a.set, Settings { steps: a.steps, seed: a.seed, ..Settings::default() })?;
    let device = super::common::device(a.backend)?;
    let ckpt_dir = a.out.join("checkpoints");
    std::fs::create_dir_all(&ckpt_dir).map_err(|e| Error::Io(format!("{}: {e}", ckpt_dir.display())))?;
    write(&a.out.join("config.json"), serde_json::to_string_pretty(&cfg.to_json()).unwrap().as_bytes())?;
    write(&a.out.join("recipe.json"), serde_json::to_string_pretty(&recipe).unwrap().as_bytes())?;
    let plan = TimelinePlan::new(&cfg, true);
    let half = plan.half;
    let steps = recipe.steps;
    let ckpts = checkpoint_steps(steps, a.checkpoints.unwrap_or(plan.checkpoints));
    let mut trainer = Trainer::new(task, cfg, recipe, &device)?;
    save_weights(&trainer.inference_model(), &ckpt_dir.join("step_0.safetensors"), half)?;
    let metrics_path = a.out.join("metrics.jsonl");
    let mut metrics = File::create(&metrics_path).map_err(|e| Error::Io(format!("{}: {e}", metrics_path.display())))?;
    // A failed write (a full disk) stops the run: a silently truncated log would draw curves
    // that end early, with nothing saying why.
    let mut log = |v: Value| -> Result<()> {
        writeln!(metrics, "{v}").map_err(|e| Error::Io(format!("{}: {e}", metrics_path.display())))
    };
    let pb = ProgressBar::new(steps as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    let t0 = Instant::now();
    let log_every = (steps / 2000).max(1);
    let (mut ema_loss, mut ema_acc) = (None::<f32>, 0f32);
    while trainer.step < steps {
        let s = match trainer.step() {
            Ok(s) => s,
            Err(e) => {
                pb.abandon();
                let p = a.out.join("model.safetensors");
                save_weights(&trainer.inference_model(), &p, false)?;
                log(json!({"error": e.to_string(), "step": trainer.step}))?;
                let why = match e {
                    Error::Training(m) | Error::Diverged(m) => m,
                    other => other.to_string(),
                };
                return Err(Error::Training(format!("{why}; the last good weights are in {}", p.display())));
            }
        };
        let l = ema_loss.map_or(s.loss, |m| 0.95 * m + 0.05 * s.loss);
        ema_loss = Some(l);
        ema_acc = if s.step == 0 { s.accuracy } else { 0.95 * ema_acc + 0.05 * s.accuracy };
        pb.set_position(trainer.step as u64);
        pb.set_message(format!("loss {l:.4} acc {ema_acc:.3}"));
        if s.step % log_every == 0 {
            let mut line = json!({"step": s.step, "epoch": s.epoch, "loss": s.loss, "accuracy": s.accuracy,
                                  "lr": s.lr, "elapsed_s": t0.elapsed().as_secs_f64()});
            if let Some(f) = s.figures {
                line["figures"] = f;
            }
            log(line)?;
        }
        if ckpts.contains(&trainer.step) {
            save_weights(
                &trainer.inference_model(),
                &ckpt_dir.join(format!("step_{}.safetensors", trainer.step)),
                half,
            )?;
        }
        if trainer.recipe.evaluates_at(trainer.step) {
            let e = trainer.evaluate()?;
            log(json!({"step": e.step, "eval_loss": e.loss, "eval_accuracy": e.accuracy, "figures": e.figures,
                       "elapsed_s": t0.elapsed().as_secs_f64()}))?;
        }
    }
    pb.finish();
    save_weights(&trainer.inference_model(), &a.out.join("model.safetensors"), false)?;
    let e = trainer.evaluate()?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"task": a.task, "steps": steps, "seconds": secs, "steps_per_s": steps as f64 / secs,
               "eval_loss": e.loss, "eval_accuracy": e.accuracy, "figures": e.figures, "out": a.out})
    );
    Ok(())
}
