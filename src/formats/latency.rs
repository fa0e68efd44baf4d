//! Time per photo as this machine has measured it, per backbone and backend: the last
//! `WINDOW` answers of each, so that the backbone choice can show a latency measured here
//! rather than a vendor's figure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backbone::Backbone;

/// Answers kept per backbone and backend.
pub const WINDOW: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyLog {
    /// "lite1/webgpu" -> the last milliseconds per photo, oldest first.
    samples: BTreeMap<String, Vec<f64>>,
}

fn key(backbone: Backbone, backend: &str) -> String {
    format!("{}/{backend}", backbone.id())
}

impl LatencyLog {
    /// The log as kept (JSON), or an empty one when there is none or it is unreadable.
    pub fn parse(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a map of numbers serialises")
    }

    /// One photo answered by `backbone` on `backend` (`cpu`, `webgpu`) in `ms`.
    pub fn record(&mut self, backbone: Backbone, backend: &str, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        let samples = self.samples.entry(key(backbone, backend)).or_default();
        samples.push(ms);
        if samples.len() > WINDOW {
            samples.remove(0);
        }
    }

    /// The median of the kept answers, and how many there are; None before the first.
    pub fn median(&self, backbone: Backbone, backend: &str) -> Option<(f64, usize)> {
        let samples = self.samples.get(&key(backbone, backend))?;
        (!samples.is_empty()).then(|| (crate::backend_race::median(samples), samples.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_of_the_last_answers_of_each_backbone_and_backend() {
        let mut log = LatencyLog::default();
        assert_eq!(log.median(Backbone::Lite0, "cpu"), None);
        for ms in [30.0, 10.0, 20.0] {
            log.record(Backbone::Lite0, "cpu", ms);
        }
        log.record(Backbone::Lite1, "cpu", 55.0);
        log.record(Backbone::Lite0, "webgpu", 5.0);
        log.record(Backbone::Lite0, "cpu", f64::NAN);
        assert_eq!(log.median(Backbone::Lite0, "cpu"), Some((20.0, 3)));
        assert_eq!(log.median(Backbone::Lite1, "cpu"), Some((55.0, 1)));
        assert_eq!(log.median(Backbone::Lite0, "webgpu"), Some((5.0, 1)));
        // A slow start falls out of the window.
        let mut log = LatencyLog::default();
        log.record(Backbone::Lite2, "cpu", 1000.0);
        for _ in 0..WINDOW {
            log.record(Backbone::Lite2, "cpu", 40.0);
            log.record(Backbone::Lite2, "cpu", 42.0);
        }
        assert_eq!(log.median(Backbone::Lite2, "cpu"), Some((41.0, WINDOW)));
        let kept = LatencyLog::parse(Some(&log.to_json()));
        assert_eq!(kept, log);
        assert_eq!(LatencyLog::parse(Some("not json")), LatencyLog::default());
    }
}
