//! Training pairs from a `datagen` directory (ID.png + ID.py), split deterministically
//! into training and held-out sets by a hash of the id, and batched into tensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::picture::load_picture;
use super::tokenizer::CodeTokenizer;

/// One picture and its canonical code.
#[derive(Debug, Clone)]
pub struct Pair {
    pub id: String,
    pub picture: PathBuf,
    pub code: String,
}

/// Every ID.png that has an ID.py beside it, sorted by id.
pub fn read_pairs(dir: &Path) -> Result<Vec<Pair>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read the data directory {}: create it with `cadquery-lsp datagen --out {}`",
            dir.display(),
            dir.display()
        )
    })?;
    let mut pairs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("py") {
            continue;
        }
        let picture = path.with_extension("png");
        if !picture.exists() {
            continue;
        }
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let code = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        pairs.push(Pair { id, picture, code });
    }
    if pairs.is_empty() {
        bail!(
            "no ID.png + ID.py pairs in {}: is it a `cadquery-lsp datagen` output directory?",
            dir.display()
        );
    }
    pairs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pairs)
}

/// Held-out when the id's hash falls in the first `percent` of 100 buckets: stable when the
/// directory grows, so a pair never moves between the splits.
pub fn is_held_out(id: &str, percent: u64) -> bool {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h % 100 < percent
}

/// A batch ready for the network. `inputs` start with BOS, `targets` end with EOS; both
/// are right-padded with PAD.
pub struct Batch {
    pub pictures: Tensor,
    pub inputs: Tensor,
    pub targets: Tensor,
}

/// Token sequence of a program: BOS + code + EOS, or an error when it is longer than `max_len`.
pub fn program_tokens(tokenizer: &CodeTokenizer, code: &str, max_len: usize) -> Result<Vec<u32>> {
    let mut ids = vec![tokenizer.bos_id()];
    ids.extend(tokenizer.encode(code)?);
    ids.push(tokenizer.eos_id());
    if ids.len() > max_len + 1 {
        bail!("program of {} tokens exceeds max_len {max_len}", ids.len());
    }
    Ok(ids)
}

/// Network inputs of pictures already decoded, kept as bytes (the min-pooled grey values
/// are k/255 exactly, so nothing is lost): decoding a 448 px PNG costs more than a
/// training step's share of a sample at 128 px. 16 KB a picture at 128 px.
pub struct PictureCache {
    side: usize,
    inputs: Mutex<HashMap<PathBuf, Vec<u8>>>,
}

impl PictureCache {
    pub fn new(side: usize) -> Self {
        Self {
            side,
            inputs: Mutex::new(HashMap::new()),
        }
    }

    /// Grey pixels in [0, 1] of `path` at the cache's side.
    pub fn get(&self, path: &Path) -> Result<Vec<f32>> {
        if let Some(bytes) = self.inputs.lock().unwrap().get(path) {
            return Ok(bytes.iter().map(|&b| b as f32 / 255.0).collect());
        }
        let pixels = load_picture(path, self.side)?;
        let bytes = pixels.iter().map(|&v| (v * 255.0).round() as u8).collect();
        self.inputs
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), bytes);
        Ok(pixels)
    }
}

/// Loads pictures (in parallel, through the cache) and pads token sequences into one batch.
pub fn make_batch(
    pairs: &[&Pair],
    tokens: &[Vec<u32>],
    cache: &PictureCache,
    pad: u32,
    device: &Device,
) -> Result<Batch> {
    let pixels: Vec<Vec<f32>> = pairs
        .par_iter()
        .map(|p| cache.get(&p.picture))
        .collect::<Result<_>>()?;
    let b = pairs.len();
    let side = cache.side;
    let flat: Vec<f32> = pixels.into_iter().flatten().collect();
    let pictures = Tensor::from_vec(flat, (b, 1, side, side), device)?;
    let (inputs, targets) = pad_sequences(tokens, pad, device)?;
    Ok(Batch {
        pictures,
        inputs,
        targets,
    })
}

/// Shifted input/target tensors of `[BOS, x.., EOS]` sequences.
pub fn pad_sequences(tokens: &[Vec<u32>], pad: u32, device: &Device) -> Result<(Tensor, Tensor)> {
    let t = tokens.iter().map(|s| s.len() - 1).max().unwrap_or(1);
    let mut inputs = Vec::with_capacity(tokens.len() * t);
    let mut targets = Vec::with_capacity(tokens.len() * t);
    for seq in tokens {
        let n = seq.len() - 1;
        inputs.extend_from_slice(&seq[..n]);
        inputs.extend(std::iter::repeat_n(pad, t - n));
        targets.extend_from_slice(&seq[1..]);
        targets.extend(std::iter::repeat_n(pad, t - n));
    }
    Ok((
        Tensor::from_vec(inputs, (tokens.len(), t), device)?,
        Tensor::from_vec(targets, (tokens.len(), t), device)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stable_and_roughly_sized() {
        let held = (0..10_000)
            .filter(|i| is_held_out(&format!("{i:08}"), 5))
            .count();
        assert!((300..700).contains(&held), "{held}");
        assert_eq!(is_held_out("00001234", 5), is_held_out("00001234", 5));
    }

    #[test]
    fn sequences_are_shifted_and_padded() {
        let (i, t) = pad_sequences(&[vec![1, 5, 6, 2], vec![1, 7, 2]], 0, &Device::Cpu).unwrap();
        assert_eq!(
            i.to_vec2::<u32>().unwrap(),
            vec![vec![1, 5, 6], vec![1, 7, 0]]
        );
        assert_eq!(
            t.to_vec2::<u32>().unwrap(),
            vec![vec![5, 6, 2], vec![7, 2, 0]]
        );
    }
}
