//! The code tokenizer: one token per API fragment of canonical code (`.lineTo(`,
//! `cq.Workplane(cq.Plane(cq.Vector(`, ...), one per frequent number, and a
//! character / byte fallback so that ANY text round-trips exactly. llguidance sees every
//! token as the exact bytes it stands for (see [`CodeTokenizer::token_bytes`]).
//!
//! Built with the `tokenizers` crate as a BPE model without merges (single characters,
//! `<0xNN>` byte fallback) plus non-special added tokens for fragments and numbers; added
//! tokens are matched leftmost-longest, so `0.75` is one token even when `0.7` is one too.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::BPE;
use tokenizers::{AddedToken, Tokenizer};

pub const PAD: &str = "<pad>";
pub const BOS: &str = "<bos>";
pub const EOS: &str = "<eos>";
pub const UNK: &str = "<unk>";

/// API fragments of canonical code, longest pieces first in spirit: each is one token.
const FRAGMENTS: &[&str] = &[
    "import cadquery as cq\n",
    "# Generating a workplane for sketch ",
    "wp_sketch",
    " = cq.Workplane(cq.Plane(cq.Vector(",
    "), cq.Vector(",
    ")))\n",
    "loop",
    "=wp_sketch",
    ".moveTo(",
    ".lineTo(",
    ".threePointArc((",
    "), (",
    "))",
    ".close()\n",
    ".circle(",
    ")\n",
    ", ",
    ")",
    "solid",
    ".add(loop",
    ".extrude(",
    ", both=True)\n",
    "solid=solid",
    "solid=solid.union(solid",
    "solid=solid.cut(solid",
    "solid=solid.intersect(solid",
    "solid_temp=solid",
    "solid_temp=solid_temp.union(solid",
    "(solid_temp)\n",
    "=",
    "\n",
];

/// Most numbers that get their own token (beyond the DeepCAD grid, always included).
pub const DEFAULT_MAX_NUMBERS: usize = 3000;

/// A tokenizer for canonical CadQuery code.
#[derive(Clone)]
pub struct CodeTokenizer {
    inner: Tokenizer,
    /// The exact bytes every token id stands for (specials: 0xFF + name, llguidance style).
    bytes: Vec<Vec<u8>>,
    special: Vec<bool>,
    pad: u32,
    bos: u32,
    eos: u32,
}

impl CodeTokenizer {
    /// Builds the tokenizer: fragments, sketch/loop indices, the 1/128 grid, and the
    /// `max_numbers` most frequent number spellings of `corpus` (seen at least twice).
    pub fn build(corpus: &[String], max_numbers: usize) -> Result<Self> {
        let mut vocab: Vec<String> = vec![PAD.into(), BOS.into(), EOS.into(), UNK.into()];
        vocab.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
        vocab.extend((0x20u8..0x7f).map(|b| (b as char).to_string()));
        vocab.push("\n".into());
        let vocab_map: tokenizers::models::bpe::Vocab = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab_map, vec![])
            .unk_token(UNK.into())
            .byte_fallback(true)
            .build()
            .map_err(|e| anyhow!("building the BPE model: {e}"))?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_decoder(Some(DecoderWrapper::Sequence(Sequence::new(vec![
            DecoderWrapper::ByteFallback(ByteFallback::new()),
            DecoderWrapper::Fuse(Fuse::new()),
        ]))));
        inner
            .add_special_tokens([PAD, BOS, EOS, UNK].map(|t| AddedToken::from(t, true)))
            .map_err(|e| anyhow!("adding special tokens: {e}"))?;

        let mut added: Vec<String> = FRAGMENTS.iter().map(|s| s.to_string()).collect();
        added.extend((0..64).map(|i| i.to_string()));
        let mut numbers = grid_numbers();
        numbers.extend(frequent_numbers(corpus, max_numbers));
        let mut seen = std::collections::HashSet::new();
        let fresh: Vec<AddedToken> = added
            .into_iter()
            .chain(numbers)
            .filter(|t| t.chars().count() > 1 && seen.insert(t.clone()))
            .map(|t| AddedToken::from(t, false).normalized(false))
            .collect();
        inner
            .add_tokens(fresh)
            .map_err(|e| anyhow!("adding code tokens: {e}"))?;
        Self::from_tokenizer(inner)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let inner = Tokenizer::from_file(path).map_err(|e| {
            anyhow!(
                "cannot read the tokenizer {}: {e}; rebuild it with `cadquery-lsp train --build-tokenizer`",
                path.display()
            )
        })?;
        Self::from_tokenizer(inner)
    }

    /// From the text of a `tokenizer.json` (the embedded default model).
    pub fn from_json(text: &str) -> Result<Self> {
        let inner: Tokenizer = text
            .parse()
            .map_err(|e| anyhow!("the tokenizer JSON is not a tokenizer: {e}"))?;
        Self::from_tokenizer(inner)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner
            .save(path, false)
            .map_err(|e| anyhow!("cannot write the tokenizer {}: {e}", path.display()))
    }

    fn from_tokenizer(inner: Tokenizer) -> Result<Self> {
        let size = inner.get_vocab_size(true);
        let added = inner.get_added_tokens_decoder();
        let mut bytes = Vec::with_capacity(size);
        let mut special = Vec::with_capacity(size);
        for id in 0..size as u32 {
            let token = inner
                .id_to_token(id)
                .with_context(|| format!("tokenizer has no token with id {id}"))?;
            let is_special = added.get(&id).map(|t| t.special).unwrap_or(false);
            let b = if is_special {
                let mut b = vec![0xFF];
                b.extend_from_slice(token.as_bytes());
                b
            } else if let Some(byte) = parse_byte_token(&token) {
                vec![byte]
            } else {
                token.as_bytes().to_vec()
            };
            bytes.push(b);
            special.push(is_special);
        }
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .with_context(|| format!("tokenizer lacks the special token {t}"))
        };
        Ok(Self {
            pad: id(PAD)?,
            bos: id(BOS)?,
            eos: id(EOS)?,
            inner,
            bytes,
            special,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }
    pub fn pad_id(&self) -> u32 {
        self.pad
    }
    pub fn bos_id(&self) -> u32 {
        self.bos
    }
    pub fn eos_id(&self) -> u32 {
        self.eos
    }

    /// Token ids of `code`, without BOS/EOS.
    pub fn encode(&self, code: &str) -> Result<Vec<u32>> {
        Ok(self
            .inner
            .encode(code, false)
            .map_err(|e| anyhow!("tokenizing code: {e}"))?
            .get_ids()
            .to_vec())
    }

    /// The text of `ids` (special tokens skipped); invalid UTF-8 is replaced.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = Vec::new();
        for &id in ids {
            if let Some(b) = self.bytes.get(id as usize) {
                if !self.special[id as usize] {
                    out.extend_from_slice(b);
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The `tokenizers` crate's own decoding (to check ours against).
    pub fn decode_with_library(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| anyhow!("decoding tokens: {e}"))
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(true)
    }

    /// Bytes each token id stands for; specials start with 0xFF (llguidance's marker).
    pub fn token_bytes(&self) -> &[Vec<u8>] {
        &self.bytes
    }
}

fn parse_byte_token(token: &str) -> Option<u8> {
    let hex = token.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok())?
}

/// Python's repr of a float that is exactly representable with few digits (`1.0`, `-0.5`).
pub fn python_float(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// DeepCAD's plane-origin / extent grid: multiples of 1/128 in [-1, 1], Python-printed.
fn grid_numbers() -> Vec<String> {
    (-128..=128)
        .map(|k| python_float(k as f64 / 128.0))
        .collect()
}

/// The spellings of decimal numbers in `corpus`, most frequent first (seen at least twice).
fn frequent_numbers(corpus: &[String], max_numbers: usize) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for code in corpus {
        for n in number_literals(code) {
            *counts.entry(n).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().filter(|(_, c)| *c >= 2).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(max_numbers)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// Decimal literals (`-?digits.digits`) in `code`, not counting digits glued to names.
pub fn number_literals(code: &str) -> Vec<&str> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let glued = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let start = i;
        let mut j = i;
        if b[j] == b'-' {
            j += 1;
        }
        let int_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if !glued && j > int_start && j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            out.push(&code[start..j]);
            i = j;
        } else {
            i = j.max(i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "import cadquery as cq\n# Generating a workplane for sketch 0\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.75, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop0=wp_sketch0.moveTo(0.7579, 0.0).circle(0.7421)\nloop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.3, 0.2).threePointArc((0.4, 0.3), (0.3, 0.4)).close()\nsolid0=wp_sketch0.add(loop0).add(loop1).extrude(0.125, both=True)\nsolid=solid0\n";

    #[test]
    fn canonical_code_is_short_and_round_trips() {
        let tok = CodeTokenizer::build(&[SAMPLE.to_string(), SAMPLE.to_string()], 100).unwrap();
        let ids = tok.encode(SAMPLE).unwrap();
        assert_eq!(tok.decode(&ids), SAMPLE);
        assert_eq!(tok.decode_with_library(&ids).unwrap(), SAMPLE);
        // One token per fragment and per number: far fewer tokens than characters.
        assert!(ids.len() < 110, "{} tokens", ids.len());
        let dot_line = tok.encode(".lineTo(").unwrap();
        assert_eq!(dot_line.len(), 1);
        assert_eq!(tok.encode("0.7421").unwrap().len(), 1);
        assert_eq!(tok.encode("-0.75").unwrap().len(), 1);
    }

    #[test]
    fn any_text_round_trips_through_bytes() {
        let tok = CodeTokenizer::build(&[], 10).unwrap();
        for text in [
            "héllo wörld ✓\t\r\n",
            "x = 1e-17 # ünïcode",
            "\u{1F600}{}[]~",
        ] {
            let ids = tok.encode(text).unwrap();
            assert_eq!(tok.decode(&ids), text);
            assert_eq!(tok.decode_with_library(&ids).unwrap(), text);
        }
    }

    #[test]
    fn save_and_load_keep_the_vocabulary() {
        let tok = CodeTokenizer::build(&[SAMPLE.to_string(), SAMPLE.to_string()], 100).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        tok.save(&path).unwrap();
        let back = CodeTokenizer::load(&path).unwrap();
        assert_eq!(back.vocab_size(), tok.vocab_size());
        assert_eq!(back.encode(SAMPLE).unwrap(), tok.encode(SAMPLE).unwrap());
        assert_eq!(back.token_bytes(), tok.token_bytes());
    }

    /// The check: exact round trip over 1,000 generated programs, in few tokens.
    #[test]
    fn a_thousand_generated_programs_round_trip() {
        let codes: Vec<String> = (0..1000)
            .map(|s| crate::data::generator::generate(s).to_code())
            .collect();
        let tok = CodeTokenizer::build(&codes[..500], DEFAULT_MAX_NUMBERS).unwrap();
        let mut lengths = Vec::new();
        for code in &codes {
            let ids = tok.encode(code).unwrap();
            assert_eq!(&tok.decode(&ids), code);
            lengths.push(ids.len());
        }
        // Programs the tokenizer was not built on round-trip as well (codes[500..]).
        lengths.sort();
        let p95 = lengths[950];
        assert!(p95 < 700, "95th percentile {p95} tokens");
        eprintln!(
            "vocab {} tokens; program lengths median {} p95 {} max {}",
            tok.vocab_size(),
            lengths[500],
            p95,
            lengths[999]
        );
    }

    #[test]
    fn number_literals_skip_names() {
        assert_eq!(
            number_literals("loop1=a.moveTo(-0.5, 2.25).extrude(3)"),
            vec!["-0.5", "2.25"]
        );
    }
}
