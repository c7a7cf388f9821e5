//! Retrieval: the nearest programs of a library of synthetic programs, found by a picture
//! descriptor. Refinement fixes numbers, so what a retrieved proposal must get right is
//! the structure, and a library of 100k structures is cheap to search.
//!
//! Descriptor: the silhouette at 32x32 (bits) and the distance to the nearest edge at
//! 16x16 (capped, quantised), both from the normalised 448 px picture. Library programs
//! are described from their native render, so any directory of canonical programs (the
//! `datagen` output) can be indexed without its pictures.
//!
//! File format (little endian): b"CQLR", u32 version (1), u32 entry count, then per entry
//! the 384-byte descriptor, u32 code length and the canonical code (UTF-8).

use std::io::{Read, Write};
use std::path::Path;

use super::native::{self, Scene};
use super::picture::{Picture, SIZE};
use super::proposals::{best_by_coarse_render, Proposal, ProposalSource};
use super::score::chamfer_distance;
use crate::data::Program;
use crate::progress::{ProgressEvent, ProgressSink};
use rayon::prelude::*;

const MAGIC: &[u8; 4] = b"CQLR";
/// Descriptor neighbours rendered and scored per proposal asked for.
const SHORTLIST_FACTOR: usize = 4;
const VERSION: u32 = 1;
const SIL: u32 = 32;
const EDGE: u32 = 16;
/// Bytes per descriptor: silhouette bits then edge distances.
pub const DESCRIPTOR_LEN: usize = (SIL * SIL / 8 + EDGE * EDGE) as usize;

/// A picture's descriptor (see the module comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor(pub Vec<u8>);

impl Descriptor {
    pub fn of(picture: &Picture) -> Descriptor {
        let (_, sil, _) = picture.masks_at(SIZE / SIL);
        let (n, _, edges) = picture.masks_at(SIZE / EDGE);
        let mut out = vec![0u8; DESCRIPTOR_LEN];
        for (k, &b) in sil.iter().enumerate() {
            if b {
                out[k / 8] |= 1 << (k % 8);
            }
        }
        let dist = chamfer_distance(&edges, n as usize);
        for (k, d) in dist.iter().enumerate() {
            // 4 px at 16x16 is a quarter of the picture: far enough to stop caring
            out[(SIL * SIL / 8) as usize + k] = (d.min(4.0) * 60.0) as u8;
        }
        Descriptor(out)
    }

    /// Smaller is nearer: differing silhouette cells plus edge-distance differences.
    pub fn distance(&self, other: &Descriptor) -> u32 {
        let bits = (SIL * SIL / 8) as usize;
        let sil: u32 = self.0[..bits]
            .iter()
            .zip(&other.0[..bits])
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        let edge: u32 = self.0[bits..]
            .iter()
            .zip(&other.0[bits..])
            .map(|(a, b)| a.abs_diff(*b) as u32)
            .sum();
        // one silhouette cell ~ 1/1024 of the picture; weigh the two terms alike
        4 * sil * 60 + edge
    }
}

/// The library: descriptors and canonical programs.
#[derive(Debug, Clone, Default)]
pub struct RetrievalIndex {
    pub entries: Vec<(Descriptor, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read or write the program library {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a program library (version {VERSION}): rebuild it with `generate --build-library`")]
    Format { path: String },
}

impl RetrievalIndex {
    /// Adds a canonical program, described from its native render; false when it renders
    /// nothing (an empty solid).
    pub fn add(&mut self, program: &Program) -> bool {
        let Some(picture) = native_picture(program) else {
            return false;
        };
        self.entries
            .push((Descriptor::of(&picture), program.to_code()));
        true
    }

    /// A library of the canonical programs (`*.py`) of `dir`, at most `limit` of them in
    /// file-name order, described in parallel; also how many files were skipped.
    pub fn build_from_dir(
        dir: &Path,
        limit: usize,
        progress: &dyn ProgressSink,
    ) -> Result<(RetrievalIndex, usize), IndexError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| IndexError::Io {
                path: dir.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "py"))
            .collect();
        files.sort();
        files.truncate(limit);
        let total = files.len() as u64;
        let done = AtomicU64::new(0);
        let described: Vec<Option<(Descriptor, String)>> = files
            .par_iter()
            .map(|f| {
                let program = std::fs::read_to_string(f)
                    .ok()
                    .and_then(|code| Program::parse(&code).ok())?;
                let picture = native_picture(&program);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(64) || n == total {
                    progress.report(ProgressEvent::new("library", n, Some(total)));
                }
                Some((Descriptor::of(&picture?), program.to_code()))
            })
            .collect();
        let skipped = described.iter().filter(|d| d.is_none()).count();
        Ok((
            RetrievalIndex {
                entries: described.into_iter().flatten().collect(),
            },
            skipped,
        ))
    }

    /// The `k` nearest entries' codes with their distances, nearest first.
    pub fn nearest(&self, query: &Descriptor, k: usize) -> Vec<(u32, usize)> {
        let mut d: Vec<(u32, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (desc, _))| (desc.distance(query), i))
            .collect();
        d.sort_unstable();
        d.truncate(k);
        d
    }

    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (desc, code) in &self.entries {
            out.extend_from_slice(&desc.0);
            out.extend_from_slice(&(code.len() as u32).to_le_bytes());
            out.extend_from_slice(code.as_bytes());
        }
        // write beside and rename, so a crash never leaves half a library
        let tmp = path.with_extension("tmp");
        std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(&out))
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<RetrievalIndex, IndexError> {
        let io = |source| IndexError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads a library from its bytes; `what` names it in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<RetrievalIndex, IndexError> {
        let bad = || IndexError::Format {
            path: what.to_string(),
        };
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], IndexError> {
            let s = bytes.get(at..at + n).ok_or_else(bad)?;
            at += n;
            Ok(s)
        };
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        if take(4)? != MAGIC || u32_at(take(4)?) != VERSION {
            return Err(bad());
        }
        let count = u32_at(take(4)?) as usize;
        let mut entries = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let desc = Descriptor(take(DESCRIPTOR_LEN)?.to_vec());
            let len = u32_at(take(4)?) as usize;
            let code = String::from_utf8(take(len)?.to_vec()).map_err(|_| bad())?;
            entries.push((desc, code));
        }
        Ok(RetrievalIndex { entries })
    }
}

/// The normalised picture of a program's native render (what the input would look like).
pub fn native_picture(program: &Program) -> Option<Picture> {
    let scene = Scene::compile(program).ok()?;
    let r = native::render(&scene, SIZE, SIZE)?;
    Some(Picture::from_masks(SIZE, r.silhouette, r.edges))
}

/// Proposals from the library's nearest neighbours.
pub struct Retrieval {
    pub index: RetrievalIndex,
}

impl ProposalSource for Retrieval {
    fn name(&self) -> &str {
        "retrieval"
    }

    fn propose(&self, picture: &Picture, limit: usize) -> Vec<Proposal> {
        // the descriptor finds a shortlist; a coarse native render against the picture
        // orders it (the descriptor alone misses holes and thin walls)
        let mut shortlist: Vec<usize> = self
            .index
            .nearest(&Descriptor::of(picture), limit * SHORTLIST_FACTOR)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        // equal agreement: the earlier library entry first
        shortlist.sort_unstable();
        let programs = shortlist
            .into_iter()
            .filter_map(|i| {
                let program = Program::parse(&self.index.entries[i].1).ok()?;
                Some((format!("retrieval:#{i}"), program))
            })
            .collect();
        best_by_coarse_render(picture, programs, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::proposals::PrimitiveFits;

    #[test]
    fn a_library_finds_its_own_programs_and_round_trips() {
        let mut index = RetrievalIndex::default();
        let templates = PrimitiveFits::templates();
        for (_, p) in &templates {
            assert!(index.add(p));
        }
        // each template's picture retrieves that template first
        for (i, (name, p)) in templates.iter().enumerate() {
            let picture = native_picture(p).unwrap();
            let best = index.nearest(&Descriptor::of(&picture), 1);
            assert_eq!(best[0].1, i, "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.cqlr");
        index.save(&path).unwrap();
        let back = RetrievalIndex::load(&path).unwrap();
        assert_eq!(back.entries, index.entries);
        std::fs::write(&path, b"CQLR\x09\0\0\0").unwrap();
        assert!(matches!(
            RetrievalIndex::load(&path),
            Err(IndexError::Format { .. })
        ));
    }
}
