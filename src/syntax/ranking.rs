//! Completion order: names used most in real CadQuery scripts first (counts from
//! scripts/gen_method_ranks.py), the rest after them alphabetically.

use std::collections::HashMap;
use std::sync::OnceLock;

static RANKS: OnceLock<HashMap<String, u32>> = OnceLock::new();

/// Rank of a member name (lower is more common). `class` is kept for a per-class table
/// later; today one table serves all classes.
pub fn member_rank(_class: &str, name: &str) -> u32 {
    let ranks = RANKS.get_or_init(|| {
        let names: Vec<String> = serde_json::from_str(include_str!("method_ranks.json")).expect(
            "src/syntax/method_ranks.json is valid: regenerate it with scripts/gen_method_ranks.py",
        );
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, i as u32))
            .collect()
    });
    // Seen names rank 100.., unseen 1000: ahead of them only keyword items (10..).
    ranks.get(name).map_or(1000, |r| 100 + r)
}
