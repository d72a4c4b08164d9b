//! `toylens cache`: run a model and write its logits and every cached activation (TL names)
//! as f32 safetensors.

use std::path::PathBuf;

use super::common::{Backend, device, read_config, read_tokens, read_weights, write_file};
use crate::io::safetensors::{OutTensor, write_tensors};
use crate::model::{HookedTransformer, NameFilter};
use crate::{Error, Result};

#[derive(clap::Args)]
pub struct CacheArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    weights: PathBuf,
    /// A JSON array of token-id arrays (inline or a file), or a safetensors file with `tokens`.
    #[arg(long)]
    tokens: String,
    #[arg(long)]
    out: PathBuf,
    /// Keep only hooks whose names match this regex.
    #[arg(long)]
    names: Option<String>,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
}

pub fn run(a: CacheArgs) -> Result<()> {
    let CacheArgs { config, weights, tokens, out, names, backend } = a;
    let cfg = read_config(&config)?;
    let sd = read_weights(&weights)?;
    let dev = device(backend)?;
    let model = HookedTransformer::from_state_dict(&cfg, &sd, &dev)?;
    let toks = read_tokens(&tokens)?;
    let filter = match names {
        Some(r) => NameFilter::regex(&r)?,
        None => NameFilter::All,
    };
    let (logits, cache) = model.run_with_cache(&toks, filter)?;
    let logits_shape = logits.dims().to_vec();
    let logits =
        logits.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?;
    let mut entries: Vec<(String, Vec<usize>, Vec<f32>)> = vec![("logits".into(), logits_shape, logits)];
    for (name, t) in &cache.map {
        entries.push((name.clone(), t.shape.clone(), t.to_vec()?));
    }
    let outs: Vec<(String, OutTensor)> =
        entries.iter().map(|(n, s, v)| (n.clone(), OutTensor::F32 { shape: s, values: v })).collect();
    write_file(&out, &write_tensors(&outs)?)?;
    println!("wrote {} tensors to {}", entries.len(), out.display());
    Ok(())
}
