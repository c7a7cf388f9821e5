//! Grammar-constrained decoding with llguidance: a small `TokenizerEnv` over our
//! tokenizer (its trie built from each token's exact bytes) and a compiled grammar from
//! which one `Matcher` per candidate is cloned.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};

use super::tokenizer::CodeTokenizer;

struct CodeTokEnv {
    trie: TokTrie,
}

impl TokenizerEnv for CodeTokEnv {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        // Only used by llguidance for forced text; greedy over the trie is exact for bytes.
        self.trie.greedy_tokenize(s)
    }

    fn tokenize_is_canonical(&self) -> bool {
        false
    }
}

/// A compiled grammar over a tokenizer; hands out fresh matchers.
pub struct Grammar {
    start: Matcher,
}

impl Grammar {
    pub fn new(tokenizer: &CodeTokenizer, lark: &str) -> Result<Self> {
        let mut info = TokRxInfo::new(tokenizer.vocab_size() as u32, tokenizer.eos_id());
        info.tok_bos = Some(tokenizer.bos_id());
        info.tok_pad = Some(tokenizer.pad_id());
        let trie = TokTrie::from(&info, tokenizer.token_bytes());
        let env: TokEnv = Arc::new(CodeTokEnv { trie });
        let mut factory = ParserFactory::new_simple(&env)?;
        factory.quiet();
        let parser = factory
            .create_parser(TopLevelGrammar::from_lark(lark.to_string()))
            .map_err(|e| anyhow!("the decoding grammar does not compile: {e}"))?;
        let start = Matcher::new(Ok(parser));
        if let Some(e) = start.get_error() {
            return Err(anyhow!("the decoding grammar does not compile: {e}"));
        }
        Ok(Self { start })
    }

    /// A matcher at the start of a program.
    pub fn matcher(&self) -> TokenMask {
        TokenMask {
            matcher: self.start.deep_clone(),
        }
    }
}

/// Which tokens may come next in one candidate.
pub struct TokenMask {
    matcher: Matcher,
}

impl TokenMask {
    /// Allowed[token] for the next position; EOS is allowed once the program is complete.
    pub fn allowed(&mut self) -> Result<Vec<bool>> {
        let vob = self
            .matcher
            .compute_mask_or_eos()
            .map_err(|e| anyhow!("grammar mask: {e}"))?;
        let mut out = vec![false; vob.len()];
        vob.iter_set_entries(|i| out[i] = true);
        Ok(out)
    }

    pub fn consume(&mut self, token: u32) -> Result<()> {
        self.matcher
            .consume_token(token)
            .map_err(|e| anyhow!("token {token} rejected by the grammar: {e}"))
    }

    pub fn is_accepting(&mut self) -> bool {
        self.matcher.is_accepting().unwrap_or(false)
    }

    /// An independent parser state for a new hypothesis. The clone shares the lexer's
    /// caches (llguidance's `Clone`, not `deep_clone`): copying those cost a quarter of
    /// all decoding time, and sharing them keeps the lexer warm across hypotheses.
    pub fn clone_state(&self) -> Self {
        Self {
            matcher: self.matcher.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::grammar::{canonical_lark, GrammarLimits};
    use super::*;
    use rand::{Rng, SeedableRng};

    fn dev_style(i: usize) -> String {
        format!(
            "import cadquery as cq\n# Generating a workplane for sketch 0\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(-0.75, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop0=wp_sketch0.moveTo(0.7579, 0.0).circle(0.7421)\nloop1=wp_sketch0.moveTo(0.1, 0.2).lineTo(0.3, 0.2).threePointArc((0.4, 0.3), (0.3, 0.4)).close()\nsolid0=wp_sketch0.add(loop0).add(loop1).extrude(0.125, both=True)\nsolid=solid0\n# Generating a workplane for sketch 1\nwp_sketch1 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.5), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop2=wp_sketch1.moveTo(0.{i}, 0.0).circle(0.25)\nsolid1=wp_sketch1.add(loop2).extrude(-0.25)\nsolid=solid.cut(solid1)\n"
        )
    }

    fn setup() -> (CodeTokenizer, Grammar) {
        let corpus: Vec<String> = (1..20).map(dev_style).collect();
        let tok = CodeTokenizer::build(&corpus, 200).unwrap();
        let g = Grammar::new(&tok, &canonical_lark(GrammarLimits::default())).unwrap();
        (tok, g)
    }

    fn accepts(tok: &CodeTokenizer, g: &Grammar, code: &str) -> bool {
        let mut m = g.matcher();
        for t in tok.encode(code).unwrap() {
            if !m.allowed().unwrap()[t as usize] || m.consume(t).is_err() {
                return false;
            }
        }
        m.allowed().unwrap()[tok.eos_id() as usize]
    }

    #[test]
    fn grammar_accepts_canonical_and_rejects_undefined_names() {
        let (tok, g) = setup();
        assert!(accepts(&tok, &g, &dev_style(5)));
        // loop3 was never defined; wp_sketch2 does not exist yet; a zero radius.
        for bad in [
            dev_style(5).replace(".add(loop2)", ".add(loop3)"),
            dev_style(5).replace("loop2=wp_sketch1", "loop2=wp_sketch2"),
            dev_style(5).replace(".circle(0.25)", ".circle(0.0)"),
            dev_style(5).replace("solid=solid.cut(solid1)\n", ""),
            // a zero x direction, a zero normal: planes CadQuery rejects
            dev_style(5).replacen("cq.Vector(1.0, 0.0, 0.0)", "cq.Vector(0.0, 0.0, 0.0)", 1),
            dev_style(5).replacen("cq.Vector(0.0, 0.0, 1.0)", "cq.Vector(0.0, -0.0, 0.0)", 1),
        ] {
            assert!(!accepts(&tok, &g, &bad), "accepted:\n{bad}");
        }
    }

    /// Every generated program and every real dev script (re-printed canonically) is a
    /// sentence of the grammar, token by token under the mask.
    #[test]
    fn grammar_accepts_generated_and_dev_programs() {
        let mut codes: Vec<String> = (0..300)
            .map(|s| crate::data::generator::generate(s).to_code())
            .collect();
        match std::env::var_os("CADQUERY_LSP_SHARED") {
            Some(shared) => {
                let dir = std::path::Path::new(&shared).join("data/gencad-dev");
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.extension().is_some_and(|e| e == "py") {
                        let text = std::fs::read_to_string(&path).unwrap();
                        let program = crate::data::program::Program::parse(&text).unwrap();
                        codes.push(program.to_code());
                    }
                }
            }
            None => eprintln!("CADQUERY_LSP_SHARED not set: dev scripts skipped"),
        }
        let tok = CodeTokenizer::build(&codes, 2000).unwrap();
        let g = Grammar::new(&tok, &canonical_lark(GrammarLimits::default())).unwrap();
        for code in &codes {
            assert!(accepts(&tok, &g, code), "rejected:\n{code}");
        }
    }

    #[test]
    fn random_walks_under_the_mask_parse_with_tree_sitter() {
        let (tok, g) = setup();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let mut finished = 0;
        for _ in 0..40 {
            let mut m = g.matcher();
            let mut ids = Vec::new();
            for _ in 0..400 {
                let allowed = m.allowed().unwrap();
                let choices: Vec<u32> = (0..allowed.len() as u32)
                    .filter(|&i| allowed[i as usize])
                    .collect();
                assert!(!choices.is_empty(), "dead end after {:?}", tok.decode(&ids));
                // Prefer ending once possible so that walks finish.
                let t = if allowed[tok.eos_id() as usize] && rng.random_bool(0.5) {
                    tok.eos_id()
                } else {
                    choices[rng.random_range(0..choices.len())]
                };
                if t == tok.eos_id() {
                    break;
                }
                m.consume(t).unwrap();
                ids.push(t);
            }
            // Finished or not, every prefix the mask allowed is a prefix of valid code;
            // check finished programs fully.
            if m.allowed().unwrap()[tok.eos_id() as usize] {
                let code = tok.decode(&ids);
                let tree = parser.parse(&code, None).unwrap();
                assert!(!tree.root_node().has_error(), "unparsable:\n{code}");
                assert!(code.contains("\nsolid="), "{code}");
                finished += 1;
            }
        }
        assert!(finished >= 10, "only {finished} walks finished");
    }
}
