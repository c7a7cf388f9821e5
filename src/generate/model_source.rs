//! The trained model as a proposal source: beam search under the grammar mask, each
//! candidate repaired (tree-sitter) when it does not parse as canonical code.

use super::picture::Picture;
use super::proposals::{Proposal, ProposalSource};
use crate::data::Program;
use crate::model::bundle::TrainedModel;
use crate::model::decode::{DecodeOptions, Strategy};

const MAX_BEAMS: usize = 6;

pub struct ModelProposals {
    pub model: TrainedModel,
    /// Where the model came from, for provenance ("embedded" or a directory).
    pub origin: String,
    pub max_tokens: usize,
}

/// A canonical program from decoded code: as it is, else after repair.
pub fn program_from_code(code: &str) -> Option<(Program, bool)> {
    if let Ok(p) = Program::parse(code) {
        return Some((p, false));
    }
    let repaired = crate::syntax::repair(code);
    Program::parse(&repaired.code).ok().map(|p| (p, true))
}

impl ProposalSource for ModelProposals {
    fn name(&self) -> &str {
        "model"
    }

    fn propose(&self, picture: &Picture, limit: usize) -> Vec<Proposal> {
        let Some(grey) =
            image::GrayImage::from_raw(picture.size, picture.size, picture.grey.clone())
        else {
            return Vec::new();
        };
        // beams cost time linear in their count on the CPU; a few distinct programs are
        // what the rest of the pipeline needs from the model
        let n = limit.clamp(1, MAX_BEAMS);
        let options = DecodeOptions {
            strategy: Strategy::Beam { width: n },
            candidates: n,
            max_tokens: self.max_tokens,
            seed: 0,
        };
        let candidates =
            match self
                .model
                .propose(&image::DynamicImage::ImageLuma8(grey), &options, true)
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("the model could not propose: {e:#}");
                    return Vec::new();
                }
            };
        candidates
            .into_iter()
            .enumerate()
            .filter_map(|(k, c)| {
                let (program, repaired) = program_from_code(&c.code)?;
                Some(Proposal {
                    program,
                    source: format!(
                        "model:beam{}{}",
                        k + 1,
                        if repaired { "+repair" } else { "" }
                    ),
                    log_prob: Some(c.log_prob as f64),
                })
            })
            .collect()
    }
}
