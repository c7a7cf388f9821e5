//! Server settings, from `initializationOptions` and `workspace/configuration` (section
//! `cadquery`). Keys are merged one by one: a bad value is reported and the previous value
//! kept, so one typo never resets the rest.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The configuration section clients keep these settings under.
pub const SECTION: &str = "cadquery";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Python interpreter with CadQuery; `None` lets the runtime discover or create one.
    pub python_path: Option<PathBuf>,
    /// Model directory; `None` uses the embedded default model.
    pub model_path: Option<PathBuf>,
    /// Candidates proposed per generation.
    pub candidate_count: u32,
    /// Wall-clock budget of one generation, all stages together.
    pub generation_budget_ms: u64,
    /// Evaluations (native renders) a generation may spend refining the numbers of each of its
    /// best candidates; each refined winner is then executed once more by CadQuery.
    pub refine_executions: u32,
    /// Wall-clock limit of one script execution.
    pub execution_timeout_ms: u64,
    /// Worker processes in the execution pool.
    pub pool_size: usize,
    /// Pause after an edit before syntax/API diagnostics run.
    pub diagnostics_debounce_ms: u64,
    /// Run the script and report execution/geometry problems on save.
    pub execute_on_save: bool,
    /// Also run it after this long without edits; 0 turns it off.
    pub execute_after_idle_ms: u64,
    /// Where hover previews (PNG renders of the part) are written; `None`: the user's cache.
    pub preview_dir: Option<PathBuf>,
    /// Offer the model's continuations (executed and verified first) after the API items.
    pub model_completions: bool,
    /// Continuations the model proposes per position (before verification drops some).
    pub model_completion_count: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            python_path: None,
            model_path: None,
            candidate_count: 8,
            generation_budget_ms: 60_000,
            refine_executions: 900,
            execution_timeout_ms: 10_000,
            pool_size: 2,
            diagnostics_debounce_ms: 20,
            execute_on_save: true,
            execute_after_idle_ms: 1_500,
            preview_dir: None,
            model_completions: true,
            model_completion_count: 4,
        }
    }
}

const KNOWN: &[&str] = &[
    "pythonPath",
    "modelPath",
    "candidateCount",
    "generationBudgetMs",
    "refineExecutions",
    "executionTimeoutMs",
    "poolSize",
    "diagnosticsDebounceMs",
    "executeOnSave",
    "executeAfterIdleMs",
    "previewDir",
    "modelCompletions",
    "modelCompletionCount",
];

impl Settings {
    /// Merges the keys of `value` (an object, optionally wrapped in `{"cadquery": ...}`).
    /// Returns one message per key that was not applied, saying why.
    pub fn merge(&mut self, value: &Value) -> Vec<String> {
        let value = value.get(SECTION).unwrap_or(value);
        let obj = match value {
            Value::Null => return Vec::new(),
            Value::Object(obj) => obj,
            other => {
                return vec![format!(
                    "settings must be an object of the keys {}, not {other}: ignored",
                    KNOWN.join(", ")
                )]
            }
        };
        let mut problems = Vec::new();
        for (key, v) in obj {
            let applied = match key.as_str() {
                "pythonPath" => set(&mut self.python_path, v, |_| Ok(())),
                "modelPath" => set(&mut self.model_path, v, |_| Ok(())),
                "candidateCount" => set(&mut self.candidate_count, v, |n| in_range(*n, 1, 64)),
                "generationBudgetMs" => set(&mut self.generation_budget_ms, v, |n| {
                    in_range(*n, 1_000, 3_600_000)
                }),
                "refineExecutions" => {
                    set(&mut self.refine_executions, v, |n| in_range(*n, 0, 10_000))
                }
                "executionTimeoutMs" => set(&mut self.execution_timeout_ms, v, |n| {
                    in_range(*n, 100, 600_000)
                }),
                "poolSize" => set(&mut self.pool_size, v, |n| in_range(*n, 1, 32)),
                "diagnosticsDebounceMs" => set(&mut self.diagnostics_debounce_ms, v, |n| {
                    in_range(*n, 0, 5_000)
                }),
                "executeOnSave" => set(&mut self.execute_on_save, v, |_| Ok(())),
                "executeAfterIdleMs" => set(&mut self.execute_after_idle_ms, v, |n| {
                    in_range(*n, 0, 600_000)
                }),
                "previewDir" => set(&mut self.preview_dir, v, |_| Ok(())),
                "modelCompletions" => set(&mut self.model_completions, v, |_| Ok(())),
                "modelCompletionCount" => {
                    set(&mut self.model_completion_count, v, |n| in_range(*n, 1, 16))
                }
                _ => Err(format!("unknown setting (known: {})", KNOWN.join(", "))),
            };
            if let Err(why) = applied {
                problems.push(format!(
                    "setting `{SECTION}.{key}` = {v}: {why}; kept the previous value"
                ));
            }
        }
        problems
    }
}

fn set<T: DeserializeOwned>(
    slot: &mut T,
    value: &Value,
    check: impl Fn(&T) -> Result<(), String>,
) -> Result<(), String> {
    let parsed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    check(&parsed)?;
    *slot = parsed;
    Ok(())
}

fn in_range<T: PartialOrd + std::fmt::Display>(n: T, lo: T, hi: T) -> Result<(), String> {
    if n < lo || n > hi {
        Err(format!("must be between {lo} and {hi}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_merge_one_by_one_and_bad_ones_are_reported() {
        let mut s = Settings::default();
        let problems = s.merge(&json!({"cadquery": {
            "pythonPath": "/opt/py/bin/python",
            "candidateCount": 0,
            "poolSize": 4,
            "executeOnSave": "yes",
            "colour": "blue",
        }}));
        assert_eq!(s.python_path, Some(PathBuf::from("/opt/py/bin/python")));
        assert_eq!(s.pool_size, 4);
        assert_eq!(s.candidate_count, 8);
        assert!(s.execute_on_save);
        expect_test::expect![[r#"
            [
                "setting `cadquery.candidateCount` = 0: must be between 1 and 64; kept the previous value",
                "setting `cadquery.executeOnSave` = \"yes\": invalid type: string \"yes\", expected a boolean; kept the previous value",
                "setting `cadquery.colour` = \"blue\": unknown setting (known: pythonPath, modelPath, candidateCount, generationBudgetMs, refineExecutions, executionTimeoutMs, poolSize, diagnosticsDebounceMs, executeOnSave, executeAfterIdleMs, previewDir, modelCompletions, modelCompletionCount); kept the previous value",
            ]
        "#]]
        .assert_debug_eq(&problems);
    }

    #[test]
    fn null_changes_nothing_and_a_non_object_is_reported() {
        let mut s = Settings::default();
        assert!(s.merge(&Value::Null).is_empty());
        assert_eq!(s.merge(&json!([1])).len(), 1);
        assert_eq!(s, Settings::default());
    }
}
