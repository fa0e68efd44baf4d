//! A refresh that runs one at a time however often it is asked for: the asks made while one runs
//! are answered by one more run after it, so a thousand asks in a burst cost two runs, and the
//! last run always starts after the last ask.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OneAtATime {
    #[default]
    Idle,
    Running,
    /// Running, and asked for again since the run began.
    RunningThenAgain,
}

impl OneAtATime {
    /// Asks for a run: true when the caller is to run it now; false when one is running (it
    /// runs once more when that one finishes).
    pub fn ask(&mut self) -> bool {
        match self {
            Self::Idle => {
                *self = Self::Running;
                true
            }
            Self::Running | Self::RunningThenAgain => {
                *self = Self::RunningThenAgain;
                false
            }
        }
    }

    /// A run finished: true when the caller is to run again (it was asked for meanwhile).
    pub fn finished(&mut self) -> bool {
        let again = *self == Self::RunningThenAgain;
        *self = if again { Self::Running } else { Self::Idle };
        again
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_asks_costs_the_running_run_and_one_more() {
        let mut gate = OneAtATime::default();
        assert!(gate.ask(), "the first ask runs");
        assert!((0..999).all(|_| !gate.ask()), "asks meanwhile wait");
        assert!(gate.finished(), "one more run for all of them");
        assert!(!gate.finished(), "and no more");
        assert_eq!(gate, OneAtATime::Idle);
    }

    #[test]
    fn an_ask_after_a_run_finished_runs_at_once() {
        let mut gate = OneAtATime::default();
        assert!(gate.ask());
        assert!(!gate.finished());
        assert!(gate.ask(), "nothing is running");
        assert!(!gate.ask());
        assert!(gate.finished());
        assert!(!gate.ask(), "the second run is still running");
        assert!(gate.finished(), "asked during the second run");
        assert!(!gate.finished());
    }
}
