//! Which Python globals a PyTorch checkpoint's pickle names, read without unpickling, so that
//! a checkpoint naming anything beyond torch's tensor rebuilders (`os.system`,
//! `builtins.eval`, …) is refused outright. `pytorch-reader` never runs pickle code, but it
//! keeps an unknown call as an opaque value and drops it without a word; a state dict has no
//! business naming such things, so we say so instead.
//!
//! Hand-written because no maintained Rust crate lists a pickle's globals: `serde-pickle`
//! rejects torch's persistent ids, and `pytorch-reader` keeps the names to itself. It walks
//! the opcodes with their argument sizes (Python's `pickletools` table) and fails closed: an
//! opcode it does not know, or a STACK_GLOBAL whose operands are not plain strings, refuses
//! the file.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use crate::error::{Error, Result};

/// The globals a state dict saved by `torch.save` may name.
fn allowed(module: &str, name: &str) -> bool {
    match module {
        "collections" => name == "OrderedDict",
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor"
                | "_rebuild_tensor_v2"
                | "_rebuild_tensor_v3"
                | "_rebuild_parameter"
                | "_rebuild_parameter_with_state"
        ),
        "torch._tensor" => name == "_rebuild_from_type_v2",
        "torch.nn.parameter" => name == "Parameter",
        // Storage classes (FloatStorage, …) and dtypes (torch.float32, …).
        "torch" => {
            name.ends_with("Storage")
                || matches!(
                    name,
                    "float32"
                        | "float"
                        | "float64"
                        | "double"
                        | "float16"
                        | "half"
                        | "bfloat16"
                        | "int64"
                        | "long"
                        | "int32"
                        | "int"
                        | "int16"
                        | "short"
                        | "int8"
                        | "uint8"
                        | "bool"
                )
        }
        _ => false,
    }
}

/// Refuses `bytes` (a `.pt`: zip or legacy) if its pickles name a global outside the allowlist.
pub fn check_globals(bytes: &[u8]) -> Result<()> {
    // The globals each pickle of the file names.
    let named: Vec<Vec<(String, String)>> = if bytes.starts_with(b"PK") {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| Error::Weights(format!("not a readable PyTorch checkpoint: {e}")))?;
        let names: Vec<String> =
            zip.file_names().filter_map(|n| n.ok()).filter(|n| n.ends_with(".pkl")).map(|n| n.into_owned()).collect();
        let mut out = Vec::new();
        for n in names {
            let mut buf = Vec::new();
            let f = zip.by_name(&n).map_err(|e| Error::Weights(format!("{n}: {e}")))?;
            // A pickle over pytorch-reader's own limit is refused there; stop reading at it.
            f.take(pytorch_reader::MAX_PICKLE_SIZE + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Error::Weights(format!("{n}: {e}")))?;
            out.push(globals_of(&buf)?.0);
        }
        out
    } else {
        // Legacy format: five pickles in a row (magic, protocol, sys info, the object, the
        // storage keys), then raw storage bytes. The first must parse; a later one that does
        // not is where the storages begin.
        let mut out = vec![];
        let mut at = 0;
        for i in 0..5 {
            match globals_of(&bytes[at..]) {
                Ok((globals, len)) => {
                    out.push(globals);
                    at += len;
                }
                Err(e) if i == 0 => return Err(e),
                Err(_) => break,
            }
        }
        out
    };
    for globals in &named {
        if let Some((m, n)) = globals.iter().find(|(m, n)| !allowed(m, n)) {
            return Err(Error::Weights(format!(
                "refused: the checkpoint's pickle names {m}.{n}, which a state dict never needs \
                 (only tensors are read; nothing in the file was run)"
            )));
        }
    }
    Ok(())
}

/// The (module, name) of every GLOBAL, INST and STACK_GLOBAL in the pickle at the start of
/// `p`, and the pickle's length (through STOP).
fn globals_of(p: &[u8]) -> Result<(Vec<(String, String)>, usize)> {
    let bad = |why: String| Error::Weights(format!("not a readable PyTorch checkpoint: pickle {why}"));
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8]> {
        let end = at.checked_add(n).filter(|&e| e <= p.len()).ok_or_else(|| bad("ends early".into()))?;
        let s = &p[*at..end];
        *at = end;
        Ok(s)
    };
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let line = |at: &mut usize| -> Result<String> {
        let rest = &p[*at..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("ends early".into()))?;
        *at += n + 1;
        Ok(String::from_utf8_lossy(&rest[..n]).into_owned())
    };
    let mut globals = Vec::new();
    // The last two strings pushed and the strings memoised: STACK_GLOBAL's operands.
    let mut recent: Vec<Option<String>> = Vec::new();
    let mut memo: HashMap<u64, String> = HashMap::new();
    let mut memo_len = 0u64;
    loop {
        let op = *take(&mut at, 1)?.first().unwrap();
        let mut pushed: Option<Option<String>> = Some(None); // what this opcode pushes
        match op {
            b'.' => return Ok((globals, at)),
            // Strings (their text is kept for STACK_GLOBAL).
            0x8c | b'U' | b'X' | 0x8d | b'T' => {
                let n = match op {
                    0x8c | b'U' => le(take(&mut at, 1)?),
                    0x8d => le(take(&mut at, 8)?),
                    _ => le(take(&mut at, 4)?),
                };
                let s = take(&mut at, usize::try_from(n).map_err(|_| bad("string too long".into()))?)?;
                pushed = Some(Some(String::from_utf8_lossy(s).into_owned()));
            }
            b'V' | b'S' => pushed = Some(Some(line(&mut at)?.trim_matches(['\'', '"']).to_string())),
            // Memo: remember strings put there, recall them on GET.
            b'q' | b'r' | b'p' | 0x94 => {
                let key = match op {
                    b'q' => le(take(&mut at, 1)?),
                    b'r' => le(take(&mut at, 4)?),
                    b'p' => line(&mut at)?.parse().map_err(|_| bad("bad PUT".into()))?,
                    _ => {
                        memo_len += 1;
                        memo_len - 1
                    }
                };
                if let Some(Some(s)) = recent.last() {
                    memo.insert(key, s.clone());
                }
                pushed = None;
            }
            b'h' | b'j' | b'g' => {
                let key = match op {
                    b'h' => le(take(&mut at, 1)?),
                    b'j' => le(take(&mut at, 4)?),
                    _ => line(&mut at)?.parse().map_err(|_| bad("bad GET".into()))?,
                };
                pushed = Some(memo.get(&key).cloned());
            }
            b'c' | b'i' => {
                let m = line(&mut at)?;
                let n = line(&mut at)?;
                globals.push((m, n));
            }
            0x93 => {
                let n = recent.pop().flatten();
                let m = recent.pop().flatten();
                match (m, n) {
                    (Some(m), Some(n)) => globals.push((m, n)),
                    _ => return Err(bad("STACK_GLOBAL on operands that are not plain strings: refused".into())),
                }
            }
            // Globals by extension-registry code: cannot be checked, so refused.
            0x82..=0x84 => return Err(bad("uses the extension registry (EXT opcodes): refused".into())),
            // Fixed-size arguments.
            0x80 | b'K' => {
                take(&mut at, 1)?;
            }
            b'M' => {
                take(&mut at, 2)?;
            }
            b'J' => {
                take(&mut at, 4)?;
            }
            b'G' => {
                take(&mut at, 8)?;
            }
            0x95 => {
                take(&mut at, 8)?;
                pushed = None;
            }
            // Length-prefixed bytes.
            b'C' | 0x8a => {
                let n = le(take(&mut at, 1)?) as usize;
                take(&mut at, n)?;
            }
            b'B' | 0x8b => {
                let n = le(take(&mut at, 4)?) as usize;
                take(&mut at, n)?;
            }
            0x8e | 0x96 => {
                let n = usize::try_from(le(take(&mut at, 8)?)).map_err(|_| bad("bytes too long".into()))?;
                take(&mut at, n)?;
            }
            // Newline-terminated arguments.
            b'I' | b'L' | b'F' | b'P' => {
                line(&mut at)?;
            }
            // No arguments.
            b'('
            | b'0'
            | b'1'
            | b'2'
            | b'N'
            | b')'
            | b']'
            | b'}'
            | b'a'
            | b'e'
            | b'b'
            | b'd'
            | b'l'
            | b't'
            | b'o'
            | b'R'
            | b's'
            | b'u'
            | b'Q'
            | 0x81
            | 0x92
            | 0x85..=0x88
            | 0x89
            | 0x8f..=0x91
            | 0x97
            | 0x98 => {}
            other => return Err(bad(format!("has an unknown opcode 0x{other:02x}"))),
        }
        if let Some(v) = pushed {
            recent.push(v);
            if recent.len() > 2 {
                recent.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_are_listed_and_checked() {
        // protocol 2: GLOBAL os system, then protocol 4 STACK_GLOBAL through the memo.
        let p = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00hiq\x01\x85R.";
        assert_eq!(globals_of(p).unwrap().0, vec![("os".into(), "system".into())]);
        let p = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.";
        assert_eq!(globals_of(p).unwrap().0, vec![("builtins".into(), "eval".into())]);
        assert!(globals_of(b"\x80\x02\xff.").is_err());
        assert!(allowed("torch._utils", "_rebuild_tensor_v2") && allowed("torch", "FloatStorage"));
        assert!(!allowed("builtins", "eval") && !allowed("os", "system") && !allowed("torch", "load"));
    }
}
