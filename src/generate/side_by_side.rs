//! Progress of refinements that run side by side, reported as one count: each refinement
//! reports its own evaluations, and an editor's progress bar would jump back and forth
//! between them.

use std::sync::Mutex;

use crate::progress::{ProgressEvent, ProgressSink};

/// The sum of the latest count of every slot, over the sum of their budgets.
pub struct CombinedProgress<'a> {
    inner: &'a dyn ProgressSink,
    stage: &'static str,
    budgets: Vec<u64>,
    /// Latest count per slot; reporting happens under the lock, so the combined count
    /// never goes back.
    done: Mutex<Vec<u64>>,
}

impl<'a> CombinedProgress<'a> {
    pub fn new(inner: &'a dyn ProgressSink, stage: &'static str, budgets: Vec<u64>) -> Self {
        let slots = budgets.len();
        Self {
            inner,
            stage,
            budgets,
            done: Mutex::new(vec![0; slots]),
        }
    }

    /// The sink slot `slot` reports to.
    pub fn slot(&self, slot: usize) -> SlotProgress<'_, 'a> {
        SlotProgress { all: self, slot }
    }
}

pub struct SlotProgress<'s, 'a> {
    all: &'s CombinedProgress<'a>,
    slot: usize,
}

impl ProgressSink for SlotProgress<'_, '_> {
    fn report(&self, event: ProgressEvent) {
        let all = self.all;
        let mut done = all.done.lock().unwrap_or_else(|e| e.into_inner());
        let own = event.done.min(all.budgets[self.slot]);
        done[self.slot] = done[self.slot].max(own);
        let combined = ProgressEvent {
            stage: all.stage.to_string(),
            done: done.iter().sum(),
            total: Some(all.budgets.iter().sum()),
            message: event.message,
        };
        all.inner.report(combined);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_slots_make_one_count_that_never_goes_back() {
        let seen = Mutex::new(Vec::new());
        let sink = |e: ProgressEvent| seen.lock().unwrap().push(e);
        let all = CombinedProgress::new(&sink, "refine", vec![100, 100, 50]);
        let report = |slot: usize, done: u64| {
            all.slot(slot)
                .report(ProgressEvent::new("refine", done, Some(100)).with_message("m"));
        };
        report(0, 30);
        report(1, 10);
        report(0, 60);
        report(1, 5); // a slot's own count going back is not passed on
        report(2, 80); // past its budget: counted as its budget
        report(1, 100);
        report(0, 100);
        let seen = seen.into_inner().unwrap();
        let counts: Vec<u64> = seen.iter().map(|e| e.done).collect();
        assert_eq!(counts, vec![30, 40, 70, 70, 120, 210, 250]);
        assert!(seen
            .iter()
            .all(|e| e.total == Some(250) && e.stage == "refine"));
        assert_eq!(seen[0].message.as_deref(), Some("m"));
    }
}
