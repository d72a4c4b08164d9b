//! `toylens convert`: a PyTorch `.pt` state dict to safetensors (same TL names, f32; TL's
//! attention buffers kept, so an old checkpoint's IGNORE value survives the trip).

use std::path::PathBuf;

use super::common::{read_weights, write_file};
use crate::Result;
use crate::io::safetensors::{OutTensor, write_tensors};

#[derive(clap::Args)]
pub struct ConvertArgs {
    input: PathBuf,
    output: PathBuf,
}

pub fn run(a: ConvertArgs) -> Result<()> {
    let ConvertArgs { input, output } = a;
    let sd = read_weights(&input)?;
    let outs: Vec<(String, OutTensor)> =
        sd.tensors.iter().map(|(n, (s, v))| (n.clone(), OutTensor::F32 { shape: s, values: v })).collect();
    write_file(&output, &write_tensors(&outs)?)?;
    println!("wrote {} tensors to {}", outs.len(), output.display());
    Ok(())
}
