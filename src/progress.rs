//! Progress reporting and cancellation shared by every long job (environment set-up,
//! execution batches, data generation, training, generation). The LSP maps these to
//! `$/progress` / `$/cancelRequest`, the CLI to a progress bar.

pub use tokio_util::sync::CancellationToken;

/// One step of a long job: `done` of `total` units in the named stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    pub stage: String,
    pub done: u64,
    pub total: Option<u64>,
    pub message: Option<String>,
}

impl ProgressEvent {
    pub fn new(stage: impl Into<String>, done: u64, total: Option<u64>) -> Self {
        Self {
            stage: stage.into(),
            done,
            total,
            message: None,
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Completion in percent when the total is known.
    pub fn percent(&self) -> Option<u32> {
        self.total
            .filter(|t| *t > 0)
            .map(|t| ((self.done.min(t) * 100) / t) as u32)
    }
}

/// Where progress goes. Closures implement it, so `&|e| println!("{e:?}")` works.
pub trait ProgressSink: Send + Sync {
    fn report(&self, event: ProgressEvent);
}

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressSink for F {
    fn report(&self, event: ProgressEvent) {
        self(event)
    }
}

/// For callers that do not show progress.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _event: ProgressEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_clamped_and_needs_a_total() {
        assert_eq!(ProgressEvent::new("x", 5, Some(10)).percent(), Some(50));
        assert_eq!(ProgressEvent::new("x", 15, Some(10)).percent(), Some(100));
        assert_eq!(ProgressEvent::new("x", 5, None).percent(), None);
        assert_eq!(ProgressEvent::new("x", 0, Some(0)).percent(), None);
    }
}
