//! The trained model as a proposal source: programs sampled under the grammar mask, each
//! repaired (tree-sitter) when it does not parse as canonical code, of which those the
//! picture picks (`pick::rank_by_picture`) go on. Sampling rather than a beam: the
//! model's single likeliest program is often wrong early (a plane, a profile), and a beam's
//! programs vary little there; 32 samples picked by the picture lift held-out IoU_vol
//! (capped at 1 per picture) from 0.37 (greedy) to 0.59, a beam of 32 only to 0.53
//! (models/MODEL_CARD.md).

use super::pick::rank_by_picture;
use super::picture::Picture;
use super::proposals::{Proposal, ProposalSource};
use crate::data::Program;
use crate::model::bundle::TrainedModel;
use crate::model::decode::{DecodeOptions, Strategy};

/// Programs sampled per picture (~1.3 s on one core for the small model).
const SAMPLES: usize = 32;
const TEMPERATURE: f32 = 1.0;
const TOP_P: f32 = 0.95;
/// The best of them by the picture that go on to execution.
const MAX_PROPOSALS: usize = 6;

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
        let options = DecodeOptions {
            strategy: Strategy::Sample {
                temperature: TEMPERATURE,
                top_p: TOP_P,
            },
            candidates: SAMPLES,
            max_tokens: self.max_tokens,
            // a fixed seed: the answer depends on the picture only
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
        let parsed: Vec<(Program, bool, f32)> = candidates
            .into_iter()
            .filter_map(|c| {
                let (program, repaired) = program_from_code(&c.code)?;
                Some((program, repaired, c.log_prob))
            })
            .collect();
        let programs: Vec<&Program> = parsed.iter().map(|(p, _, _)| p).collect();
        rank_by_picture(&programs, picture)
            .into_iter()
            .take(limit.clamp(1, MAX_PROPOSALS))
            .enumerate()
            .map(|(k, i)| {
                let (program, repaired, log_prob) = &parsed[i];
                Proposal {
                    program: program.clone(),
                    source: format!(
                        "model:sample{}{}",
                        k + 1,
                        if *repaired { "+repair" } else { "" }
                    ),
                    log_prob: Some(*log_prob as f64),
                }
            })
            .collect()
    }
}

/// Which of `codes` the picture picks (see `pick::rank_by_picture`); None when the image
/// is no picture of a part (blank) or no program renders. For `eval-model
/// --pick-by-picture`, which has already read the image.
pub fn pick_by_picture(image: &image::DynamicImage, codes: &[String]) -> Option<usize> {
    let picture = Picture::from_image(image, "picture").ok()?;
    let parsed: Vec<(usize, Program)> = codes
        .iter()
        .enumerate()
        .filter_map(|(i, code)| Some((i, program_from_code(code)?.0)))
        .collect();
    let programs: Vec<&Program> = parsed.iter().map(|(_, p)| p).collect();
    rank_by_picture(&programs, &picture)
        .first()
        .map(|&k| parsed[k].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::native;
    use crate::generate::refine::{has_crossing_loops, xy_program};

    /// The code of a one-loop part on the XY plane.
    fn xy_part(loop_code: &str, height: f64) -> String {
        xy_program(&[loop_code], height).to_code()
    }

    fn drawing(code: &str) -> image::DynamicImage {
        native::drawing_of(&Program::parse(code).unwrap())
    }

    #[test]
    fn the_program_drawn_in_the_picture_is_picked() {
        let plate = xy_part(
            "moveTo(0.0, 0.0).lineTo(1.0, 0.0).lineTo(1.0, 0.5).lineTo(0.0, 0.5).close()",
            0.1,
        );
        let rod = xy_part("moveTo(0.25, 0.0).circle(0.25)", 1.5);
        let codes = vec!["not a program".to_string(), plate.clone(), rod.clone()];
        assert_eq!(pick_by_picture(&drawing(&rod), &codes), Some(2));
        assert_eq!(pick_by_picture(&drawing(&plate), &codes), Some(1));
        let blank = image::RgbImage::from_pixel(448, 448, image::Rgb([255, 255, 255]));
        assert_eq!(pick_by_picture(&blank.into(), &codes), None);
        assert_eq!(pick_by_picture(&drawing(&plate), &codes[..1]), None);
    }

    #[test]
    fn the_model_proposes_the_samples_the_picture_picks() {
        let picture = Picture::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/bracket.png"
        )))
        .unwrap();
        let source = ModelProposals {
            model: TrainedModel::embedded().unwrap(),
            origin: "embedded".into(),
            max_tokens: 384,
        };
        let proposals = source.propose(&picture, 16);
        assert!(!proposals.is_empty() && proposals.len() <= MAX_PROPOSALS);
        assert!(proposals[0].source.starts_with("model:sample1"));
        for (k, p) in proposals.iter().enumerate() {
            assert!(p.source.starts_with(&format!("model:sample{}", k + 1)));
        }
        // the first has no crossing loops where some proposal has none
        if proposals.iter().any(|p| !has_crossing_loops(&p.program)) {
            assert!(!has_crossing_loops(&proposals[0].program));
        }
        // the same picture gives the same proposals (a fixed seed)
        let again = source.propose(&picture, 16);
        assert!(proposals
            .iter()
            .zip(&again)
            .all(|(a, b)| a.program == b.program));
        assert_eq!(source.propose(&picture, 2).len(), proposals.len().min(2));
    }
}
