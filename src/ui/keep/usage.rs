//! The browser's estimate of what this page stores, refreshed after changes.

use leptos::prelude::*;

use crate::one_at_a_time::OneAtATime;
use crate::store::{self, Usage};

/// Bytes used and the quota, as the browser last estimated them. An estimate is not free (the
/// browser sums the origin's storage) and an import of thousands of photos makes thousands of
/// changes, so estimates run one at a time, the last after the last change.
#[derive(Clone, Copy)]
pub struct UsageMeter {
    pub estimate: RwSignal<Option<Usage>>,
    asking: StoredValue<OneAtATime>,
}

impl UsageMeter {
    pub fn new() -> Self {
        Self {
            estimate: RwSignal::new(None),
            asking: StoredValue::new(OneAtATime::default()),
        }
    }

    /// Something stored changed: estimates again, now or once the running estimate is done.
    pub async fn refresh(self) {
        if !self.runs(OneAtATime::ask) {
            return;
        }
        loop {
            if let Some(estimate) = store::estimate().await {
                self.estimate.set(Some(estimate));
            }
            if !self.runs(OneAtATime::finished) {
                return;
            }
        }
    }

    /// Steps the gate; a meter whose page is gone runs nothing.
    fn runs(self, step: fn(&mut OneAtATime) -> bool) -> bool {
        self.asking.try_update_value(step).unwrap_or(false)
    }
}
