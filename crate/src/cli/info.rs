//! `toylens info`: a weights file's tensors; with --config, whether they fit it.

use std::path::PathBuf;

use super::common::{read_config, read_weights};
use crate::Result;
use crate::model::HookedTransformer;

#[derive(clap::Args)]
pub struct InfoArgs {
    weights: PathBuf,
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(a: InfoArgs) -> Result<()> {
    let InfoArgs { weights, config } = a;
    let sd = read_weights(&weights)?;
    for (n, (s, _)) in &sd.tensors {
        println!("{n}\t{s:?}\t{}", sd.dtypes.get(n).map_or("f32", |d| d.as_str()));
    }
    if let Some(c) = config {
        let cfg = read_config(&c)?;
        HookedTransformer::from_state_dict(&cfg, &sd, &burn::tensor::Device::flex())?;
        println!("fits {}: {} parameters", c.display(), cfg.n_params());
    }
    Ok(())
}
